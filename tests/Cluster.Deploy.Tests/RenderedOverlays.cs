[assembly: AssemblyFixture(typeof(Cluster.Deploy.Tests.RenderedOverlays))]

namespace Cluster.Deploy.Tests;

/// <summary>
/// <c>kubectl kustomize</c> of every overlay, once for the whole test run, loaded strictly: <c>dev</c>, <c>prod</c>, and
/// <c>prod</c> with each optional component (ServiceMonitor, mutual TLS) added the way docs/operations.md says. Tests that use it are
/// skipped, saying why, when no suitable kubectl is installed.
/// </summary>
public sealed class RenderedOverlays : IAsyncLifetime
{
    /// <summary>The overlays an SRE applies as they are.</summary>
    public static readonly TheoryData<string> Names = ["dev", "prod"];

    private readonly Dictionary<string, Manifests> rendered = [];

    internal Manifests this[string name]
    {
        get
        {
            Tools.RequireKubectl();
            return rendered[name];
        }
    }

    internal Manifests Dev => this["dev"];

    internal Manifests Prod => this["prod"];

    /// <summary>prod with <c>components: [../../components/servicemonitor]</c>.</summary>
    internal Manifests ProdWithServiceMonitor => this["prod+servicemonitor"];

    /// <summary>prod with <c>components: [../../components/mtls]</c>.</summary>
    internal Manifests ProdWithMutualTls => this["prod+mtls"];

    public async ValueTask InitializeAsync()
    {
        if (!Tools.HasKubectl)
        {
            return;
        }

        foreach (var name in Names)
        {
            rendered[name] = Manifests.Load(name, await KustomizeAsync(Repository.Overlay(name)));
        }

        foreach (var component in (string[])["servicemonitor", "mtls"])
        {
            rendered[$"prod+{component}"] = Manifests.Load($"prod+{component}", await KustomizeProdWithAsync(component));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Runs <c>kubectl kustomize</c> on <paramref name="directory"/> and returns the YAML it printed.</summary>
    internal static async Task<string> KustomizeAsync(string directory)
    {
        var result = await Tools.RunAsync(Tools.RequireKubectl(), ["kustomize", directory]);
        Assert.True(result.ExitCode == 0, $"kubectl kustomize {directory}: {result}");
        return result.Stdout;
    }

    // Kustomize accepts only relative paths to other kustomizations, so the temporary overlay names them relative to itself.
    private static async Task<string> KustomizeProdWithAsync(string componentName)
    {
        var directory = Directory.CreateTempSubdirectory("cluster-k8s-").FullName;
        try
        {
            var prod = Path.GetRelativePath(directory, Repository.Overlay("prod"));
            var component = Path.GetRelativePath(directory, Repository.Component(componentName));
            await File.WriteAllTextAsync(Path.Combine(directory, "kustomization.yaml"), $"""
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                namespace: cluster
                resources:
                  - {prod}
                components:
                  - {component}
                """);
            return await KustomizeAsync(directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
