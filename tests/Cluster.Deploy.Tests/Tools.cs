using System.Text.RegularExpressions;
using Cluster.Testing;

namespace Cluster.Deploy.Tests;

/// <summary>
/// The command-line tools the checks run: <c>kubectl</c> (for <c>kubectl kustomize</c>) and <c>yamllint</c>. A test that
/// needs one reports itself skipped, with the reason, when it is missing.
/// </summary>
internal static partial class Tools
{
    /// <summary>Kustomize 4.1 brought the <c>labels</c> field the manifests use; components came in 3.7.</summary>
    private static readonly Version MinimumKustomize = new(4, 1);

    private static readonly Lazy<(string? Path, string? SkipReason)> Kubectl = new(FindKubectl);

    public static string? Yamllint { get; } = ExternalTool.Find("yamllint");

    /// <summary>Whether a kubectl with a new enough kustomize is installed.</summary>
    public static bool HasKubectl => Kubectl.Value.Path is not null;

    /// <summary>The kubectl binary with a new enough kustomize, or the test is skipped saying why.</summary>
    public static string RequireKubectl()
    {
        var (path, skipReason) = Kubectl.Value;
        Assert.SkipWhen(path is null, skipReason ?? "kubectl is not available");
        return path!;
    }

    /// <summary>The yamllint binary, or the test is skipped (.ci/run installs Debian's yamllint package).</summary>
    public static string RequireYamllint()
    {
        Assert.SkipWhen(Yamllint is null, "Debian's yamllint package is not installed (apt-get install yamllint): no yamllint on PATH");
        return Yamllint!;
    }

    public static Task<ToolResult> RunAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory = null) =>
        ExternalTool.RunAsync(fileName, arguments, workingDirectory);

    private static (string? Path, string? SkipReason) FindKubectl()
    {
        var kubectl = ExternalTool.Find("kubectl");
        if (kubectl is null)
        {
            return (null, "kubectl is not on PATH; kubectl kustomize renders the overlays (Debian's kubernetes-client package "
                + "is too old: its kustomize 2 lacks components and labels; install kubectl 1.21 or newer)");
        }

        var result = RunAsync(kubectl, ["version", "--client"]).GetAwaiter().GetResult();
        var match = KustomizeVersion().Match(result.Stdout);
        if (result.ExitCode != 0 || !match.Success)
        {
            return (null, $"kubectl version --client names no kustomize version ({result})");
        }

        var version = new Version(int.Parse(match.Groups["major"].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(match.Groups["minor"].Value, System.Globalization.CultureInfo.InvariantCulture));
        return version >= MinimumKustomize
            ? (kubectl, null)
            : (null, $"kubectl's kustomize is {version}, the manifests need {MinimumKustomize} or newer (kubectl 1.21+)");
    }

    [GeneratedRegex(@"Kustomize Version: v(?<major>\d+)\.(?<minor>\d+)")]
    private static partial Regex KustomizeVersion();
}
