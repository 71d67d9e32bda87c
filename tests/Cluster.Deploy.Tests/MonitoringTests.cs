using k8s.Models;

namespace Cluster.Deploy.Tests;

/// <summary>Prometheus finds the silos either way: pod annotations, or the optional ServiceMonitor component.</summary>
public sealed class MonitoringTests(RenderedOverlays overlays)
{
    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Annotations_SiloPods_PointAtTheMetricsEndpoint(string overlay)
    {
        var template = overlays[overlay].Silos.Spec.Template;
        var annotations = template.Metadata.Annotations;

        Assert.Equal("true", annotations["prometheus.io/scrape"]);
        Assert.Equal("/metrics", annotations["prometheus.io/path"]);
        var http = template.Spec.Containers[0].Ports.Single(p => p.Name == "http");
        Assert.Equal(http.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture), annotations["prometheus.io/port"]);
    }

    [Fact]
    public void ServiceMonitor_Component_ScrapesTheSiloServiceAsJobClusterSilo()
    {
        var manifests = overlays.ProdWithServiceMonitor;

        var monitor = Assert.Single(manifests.All<ServiceMonitor>());
        Assert.Equal("cluster", monitor.Metadata.NamespaceProperty);
        var services = manifests.All<V1Service>().Where(s => Labels.Matches(monitor.Spec.Selector, s.Metadata.Labels)).ToList();
        var service = Assert.Single(services);
        Assert.Equal("cluster-silo", service.Metadata.Name);
        var endpoint = Assert.Single(monitor.Spec.Endpoints);
        Assert.Contains(service.Spec.Ports, p => p.Name == endpoint.Port);
        Assert.Equal("/metrics", endpoint.Path);
        // deploy/prometheus/alerts.yml and the dashboard select job="cluster-silo".
        Assert.Contains(endpoint.Relabelings, r => r.TargetLabel == "job" && r.Replacement == "cluster-silo" && r.Action == "replace");
    }
}
