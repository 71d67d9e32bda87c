using k8s.Models;

namespace Cluster.Deploy.Tests;

/// <summary>Who may connect to what: the client protocol from anywhere, the Orleans ports between silos, PostgreSQL from silos and the Job.</summary>
public sealed class NetworkPolicyTests(RenderedOverlays overlays)
{
    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Ingress_EveryPod_CoveredByAPolicy(string overlay)
    {
        var manifests = overlays[overlay];
        var policies = manifests.All<V1NetworkPolicy>().Where(p => p.Spec.PolicyTypes.Contains("Ingress")).ToList();

        Assert.All(manifests.Workloads, w => Assert.True(
            policies.Any(p => Labels.Matches(p.Spec.PodSelector, w.Template.Metadata.Labels)),
            $"{w}: no NetworkPolicy isolates its pods, so anything may connect to them"));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Ingress_FromAnywhere_OnlyTheClientProtocolPort(string overlay)
    {
        var manifests = overlays[overlay];

        foreach (var policy in manifests.All<V1NetworkPolicy>())
        {
            var open = (policy.Spec.Ingress ?? []).Where(r => (r.FromProperty?.Count ?? 0) == 0).ToList();
            var pods = manifests.Selected(policy.Spec.PodSelector).ToList();
            Assert.All(open, rule =>
            {
                Assert.True((rule.Ports?.Count ?? 0) > 0, $"NetworkPolicy/{policy.Metadata.Name} opens every port to everyone");
                Assert.All(rule.Ports!, p => Assert.Equal("http", p.Port.Value));
            });
            if (pods.Any(w => w.Name == "cluster-silo"))
            {
                Assert.Single(open);
            }
            else
            {
                Assert.Empty(open);
            }
        }
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Ingress_OrleansPorts_OnlyFromSilos(string overlay)
    {
        var manifests = overlays[overlay];
        var silos = manifests.Silos.Spec.Template.Metadata.Labels;
        var policy = Assert.Single(manifests.All<V1NetworkPolicy>(), p => Labels.Matches(p.Spec.PodSelector, silos));

        var orleansRules = policy.Spec.Ingress.Where(r => r.Ports.Any(p => p.Port.Value is "orleans-silo" or "orleans-gateway")).ToList();

        var rule = Assert.Single(orleansRules);
        Assert.Equal(["orleans-silo"], rule.Ports.Select(p => p.Port.Value).Order(StringComparer.Ordinal));
        var from = Assert.Single(rule.FromProperty);
        Assert.Null(from.NamespaceSelector);
        Assert.Null(from.IpBlock);
        Assert.Equal(["Deployment/cluster-silo"], manifests.Selected(from.PodSelector).Select(w => w.ToString()));
        AssertNamedPortsExist(manifests, policy);
    }

    [Fact]
    public void Ingress_DevPostgres_OnlyFromSilosAndTheMigrationJob()
    {
        var manifests = overlays.Dev;
        var postgres = manifests.Single<k8s.Models.V1StatefulSet>("cluster-postgres").Spec.Template.Metadata.Labels;
        var policy = Assert.Single(manifests.All<V1NetworkPolicy>(), p => Labels.Matches(p.Spec.PodSelector, postgres));

        var rule = Assert.Single(policy.Spec.Ingress);
        Assert.Equal("postgres", Assert.Single(rule.Ports).Port.Value);
        var allowed = rule.FromProperty.SelectMany(f =>
        {
            Assert.Null(f.NamespaceSelector);
            Assert.Null(f.IpBlock);
            return manifests.Selected(f.PodSelector).Select(w => w.ToString());
        });
        Assert.Equal(["Deployment/cluster-silo", "Job/cluster-migrate"], allowed.Order(StringComparer.Ordinal));
        AssertNamedPortsExist(manifests, policy);
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Ingress_MigrationJob_NothingAllowed(string overlay)
    {
        var manifests = overlays[overlay];
        var job = manifests.MigrateJob.Spec.Template.Metadata.Labels;

        var policy = Assert.Single(manifests.All<V1NetworkPolicy>(), p => Labels.Matches(p.Spec.PodSelector, job));

        Assert.Contains("Ingress", policy.Spec.PolicyTypes);
        Assert.True((policy.Spec.Ingress?.Count ?? 0) == 0);
    }

    /// <summary>A named port in a policy must be a container port name of the pods it selects, or it matches nothing.</summary>
    private static void AssertNamedPortsExist(Manifests manifests, V1NetworkPolicy policy)
    {
        var names = manifests.Selected(policy.Spec.PodSelector).SelectMany(w => w.Pod.Containers).SelectMany(c => c.Ports ?? []).Select(p => p.Name).ToHashSet();
        Assert.All(policy.Spec.Ingress.SelectMany(r => r.Ports ?? []), p => Assert.True(
            int.TryParse(p.Port.Value, out _) || names.Contains(p.Port.Value),
            $"NetworkPolicy/{policy.Metadata.Name}: port {p.Port.Value} is not a port of the pods it protects"));
    }
}
