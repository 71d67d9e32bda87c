using k8s.Models;

namespace Cluster.Deploy.Tests;

/// <summary>What differs between the overlays: dev brings its own PostgreSQL and two silos; prod an external database, 3+ silos and the autoscaler.</summary>
public sealed class OverlayTests(RenderedOverlays overlays)
{
    [Fact]
    public void Dev_Silos_TwoWithoutAutoscaler()
    {
        var manifests = overlays.Dev;

        Assert.Equal(2, manifests.Silos.Spec.Replicas);
        Assert.Empty(manifests.All<V2HorizontalPodAutoscaler>());
    }

    [Fact]
    public void Dev_Postgres_StatefulSetOnAPersistentVolumeClaimWithTheSilosCredentials()
    {
        var manifests = overlays.Dev;
        var postgres = manifests.Single<V1StatefulSet>("cluster-postgres");
        var container = Assert.Single(postgres.Spec.Template.Spec.Containers);

        var claim = Assert.Single(postgres.Spec.VolumeClaimTemplates);
        Assert.Contains(container.VolumeMounts, m => m.Name == claim.Metadata.Name && m.MountPath.StartsWith("/var/lib/postgresql", StringComparison.Ordinal));
        Assert.NotNull(claim.Spec.Resources.Requests["storage"]);

        // The silos' connection string and the server's own settings must agree.
        var silo = ContainerEnvironment.Resolve(manifests, manifests.Silos.Spec.Template.Spec.Containers[0]);
        var server = ContainerEnvironment.Resolve(manifests, container);
        Assert.Empty(server.Problems);
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(silo.Variables["Cluster__ConnectionString"]);
        Assert.Equal(server.Variables["POSTGRES_USER"], connection.Username);
        Assert.Equal(server.Variables["POSTGRES_PASSWORD"], connection.Password);
        Assert.Equal(server.Variables["POSTGRES_DB"], connection.Database);
        var service = Assert.Single(manifests.All<V1Service>(), s => s.Metadata.Name == connection.Host);
        Assert.Equal(["StatefulSet/cluster-postgres"], manifests.Selected(new V1LabelSelector { MatchLabels = service.Spec.Selector }).Select(w => w.ToString()));
        Assert.Contains(service.Spec.Ports, p => p.Port == connection.Port);
    }

    [Fact]
    public void Prod_Silos_AutoscaledFromThreeWithSlowScaleIn()
    {
        var manifests = overlays.Prod;

        var hpa = Assert.Single(manifests.All<V2HorizontalPodAutoscaler>());
        Assert.Equal("autoscaling/v2", hpa.ApiVersion);
        Assert.True(hpa.Spec.MinReplicas >= 3, $"minReplicas {hpa.Spec.MinReplicas}");
        Assert.True(hpa.Spec.MaxReplicas > hpa.Spec.MinReplicas);
        // kubectl apply would reset the autoscaler's choice on every apply.
        Assert.Null(manifests.Silos.Spec.Replicas);
        var scaleDown = hpa.Spec.Behavior.ScaleDown;
        Assert.True(scaleDown.StabilizationWindowSeconds >= 300, "scale-in waits at least 5 minutes of lower load");
        Assert.All(scaleDown.Policies, p => Assert.True(p.Type == "Pods" && p.Value == 1 && p.PeriodSeconds >= 300, "at most one silo per 5 minutes"));
        Assert.Equal("Min", scaleDown.SelectPolicy);
    }

    [Fact]
    public void Prod_Database_ExternalNoStatefulSet()
    {
        var manifests = overlays.Prod;

        Assert.Empty(manifests.All<V1StatefulSet>());
        Assert.Empty(manifests.All<V1PersistentVolumeClaim>());
        Assert.Empty(manifests.All<V1Secret>());
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void DisruptionBudget_Silos_OneAtATimeAndUnhealthyPodsEvictable(string overlay)
    {
        var manifests = overlays[overlay];

        var pdb = Assert.Single(manifests.All<V1PodDisruptionBudget>());
        Assert.Equal("1", pdb.Spec.MaxUnavailable.Value);
        Assert.Equal("AlwaysAllow", pdb.Spec.UnhealthyPodEvictionPolicy);
        Assert.Equal(["Deployment/cluster-silo"], manifests.Selected(pdb.Spec.Selector).Select(w => w.ToString()));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Service_Silos_ClientProtocolOnly(string overlay)
    {
        var manifests = overlays[overlay];

        var service = manifests.Single<V1Service>("cluster-silo");
        var port = Assert.Single(service.Spec.Ports);
        Assert.Equal("http", port.TargetPort.Value);
        Assert.Equal("ClusterIP", service.Spec.Type);
    }
}
