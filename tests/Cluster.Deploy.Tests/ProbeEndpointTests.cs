using System.Net;
using Cluster.Testing;

namespace Cluster.Deploy.Tests;

/// <summary>What the probes and the scrape annotations name, a real silo answers.</summary>
public sealed class ProbeEndpointTests(RenderedOverlays overlays)
{
    [Fact]
    public async Task Probes_EveryPathInTheManifests_ARunningSiloAnswers200()
    {
        var template = overlays.Prod.Silos.Spec.Template;
        var container = template.Spec.Containers[0];
        var paths = new[] { container.StartupProbe, container.LivenessProbe, container.ReadinessProbe }
            .Select(p => p.HttpGet.Path)
            .Append(template.Metadata.Annotations["prometheus.io/path"])
            .Distinct()
            .ToList();

        await using var silo = await TestSilo.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = silo.CreateHttpClient();

        foreach (var path in paths)
        {
            using var response = await http.GetAsync(path, TestContext.Current.CancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode}");
        }
    }
}
