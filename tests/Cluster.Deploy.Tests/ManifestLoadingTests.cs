using k8s;
using k8s.Models;

namespace Cluster.Deploy.Tests;

/// <summary>Every overlay renders, and every document is a valid object of its kind, nothing misspelled.</summary>
public sealed class ManifestLoadingTests(RenderedOverlays overlays)
{
    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Render_Overlay_LoadsStrictlyWithTheKindsAnSreExpects(string overlay)
    {
        var manifests = overlays[overlay];

        var kinds = manifests.Objects.Select(o => o.Kind).ToHashSet();
        Assert.Subset(kinds, new HashSet<string>
        {
            "ServiceAccount", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Job", "NetworkPolicy",
        });
        Assert.DoesNotContain("ServiceMonitor", kinds);
        Assert.DoesNotContain(manifests.Objects, o => string.IsNullOrEmpty(o.Metadata.Name));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Render_Overlay_EveryObjectInTheOverlaysNamespace(string overlay)
    {
        var manifests = overlays[overlay];
        var expected = overlay == "dev" ? "cluster-dev" : "cluster";

        Assert.All(manifests.Objects.Where(o => o.Kind != "Namespace"), o =>
            Assert.True(o.Metadata.NamespaceProperty == expected, $"{o.Kind}/{o.Metadata.Name} is in namespace '{o.Metadata.NamespaceProperty}', not {expected}"));
    }

    [Theory]
    [InlineData("runAsNonRoot: true", "runAsNonRot: true")]
    [InlineData("maxSurge: 1", "maxSurg: 1")]
    [InlineData("  minReadySeconds:", "  minReadySecond:")]
    public void Load_MisspelledField_Fails(string field, string misspelled)
    {
        var yaml = overlays.Prod.Yaml;
        Assert.Contains(field, yaml, StringComparison.Ordinal);

        var broken = yaml.Replace(field, misspelled, StringComparison.Ordinal);

        Assert.ThrowsAny<Exception>(() => Manifests.Load("prod (misspelled)", broken));
    }

    [Fact]
    public void Load_UnknownKind_Fails()
    {
        var yaml = overlays.Prod.Yaml + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n";

        Assert.ThrowsAny<Exception>(() => Manifests.Load("prod (unknown kind)", yaml));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Images_EveryContainer_PinnedToATag(string overlay)
    {
        var manifests = overlays[overlay];

        Assert.All(manifests.Workloads.SelectMany(w => w.AllContainers.Select(c => (Workload: w, Container: c))), x =>
        {
            var image = x.Container.Image;
            var tag = image.Contains('@', StringComparison.Ordinal) ? "digest" : image[(image.LastIndexOf('/') + 1)..].Split(':').ElementAtOrDefault(1);
            Assert.False(string.IsNullOrEmpty(tag) || tag == "latest", $"{x.Workload}: container {x.Container.Name} runs {image}, with no pinned tag");
        });
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Images_SiloInitContainerAndJob_SameImage(string overlay)
    {
        var manifests = overlays[overlay];
        var silo = manifests.Silos.Spec.Template.Spec;

        var image = Assert.Single(silo.Containers).Image;
        Assert.All(silo.InitContainers, c => Assert.Equal(image, c.Image));
        Assert.Equal(image, Assert.Single(manifests.MigrateJob.Spec.Template.Spec.Containers).Image);
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Selectors_EveryWorkload_SelectsItsOwnPodTemplate(string overlay)
    {
        var manifests = overlays[overlay];

        Assert.All(manifests.All<V1Deployment>(), d => Assert.True(Labels.Matches(d.Spec.Selector, d.Spec.Template.Metadata.Labels), $"Deployment/{d.Metadata.Name}"));
        Assert.All(manifests.All<V1StatefulSet>(), s => Assert.True(Labels.Matches(s.Spec.Selector, s.Spec.Template.Metadata.Labels), $"StatefulSet/{s.Metadata.Name}"));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Selectors_ServicesPdbsAndPolicies_SelectExactlyOneWorkloadsPods(string overlay)
    {
        var manifests = overlays[overlay];

        Assert.All(manifests.All<V1Service>(), s =>
        {
            var selected = manifests.Selected(new V1LabelSelector { MatchLabels = s.Spec.Selector }).ToList();
            Assert.True(selected.Count == 1, $"Service/{s.Metadata.Name} selects {string.Join(", ", selected)}");
            var ports = selected[0].Pod.Containers.SelectMany(c => c.Ports ?? []).ToList();
            Assert.All(s.Spec.Ports, p => Assert.True(
                ports.Any(c => c.Name == p.TargetPort.Value || c.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture) == p.TargetPort.Value),
                $"Service/{s.Metadata.Name} targets port {p.TargetPort.Value}, which {selected[0]} does not have"));
        });
        Assert.All(manifests.All<V1PodDisruptionBudget>(), p =>
            Assert.True(manifests.Selected(p.Spec.Selector).Count() == 1, $"PodDisruptionBudget/{p.Metadata.Name}"));
        Assert.All(manifests.All<V1NetworkPolicy>(), p =>
            Assert.True(manifests.Selected(p.Spec.PodSelector).Count() == 1, $"NetworkPolicy/{p.Metadata.Name}"));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void References_ServiceAccountsAndAutoscalerTarget_Exist(string overlay)
    {
        var manifests = overlays[overlay];
        var accounts = manifests.All<V1ServiceAccount>().Select(a => a.Metadata.Name).ToHashSet();

        Assert.All(manifests.Workloads, w => Assert.True(
            w.Pod.ServiceAccountName is null || accounts.Contains(w.Pod.ServiceAccountName),
            $"{w} runs as ServiceAccount {w.Pod.ServiceAccountName}, which the overlay does not create"));
        Assert.All(manifests.All<V2HorizontalPodAutoscaler>(), h => Assert.Single(
            manifests.All<V1Deployment>(), d => d.Kind == h.Spec.ScaleTargetRef.Kind && d.Metadata.Name == h.Spec.ScaleTargetRef.Name
                && d.ApiVersion == h.Spec.ScaleTargetRef.ApiVersion));
        Assert.All(manifests.All<V1StatefulSet>(), s => Assert.Single(
            manifests.All<V1Service>(), svc => svc.Metadata.Name == s.Spec.ServiceName && svc.Spec.ClusterIP == "None"));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void References_EverySecretAndConfigMapKey_Exists(string overlay)
    {
        var manifests = overlays[overlay];

        var problems = manifests.Workloads.SelectMany(w => w.AllContainers).SelectMany(c => ContainerEnvironment.Resolve(manifests, c).Problems).ToList();
        foreach (var workload in manifests.Workloads)
        {
            foreach (var volume in workload.Pod.Volumes ?? [])
            {
                if (volume.Secret is { } secret && manifests.FindSecret(secret.SecretName) is null && !ContainerEnvironment.ExternalSecrets.ContainsKey(secret.SecretName))
                {
                    problems.Add($"{workload}: volume {volume.Name}: Secret {secret.SecretName} does not exist");
                }

                if (volume.ConfigMap is { } map && manifests.FindConfigMap(map.Name) is null)
                {
                    problems.Add($"{workload}: volume {volume.Name}: ConfigMap {map.Name} does not exist");
                }
            }
        }

        Assert.Empty(problems);
    }

    [Fact]
    public void Secrets_DevOverlay_RendersEveryOneItUses()
    {
        var manifests = overlays.Dev;

        var used = manifests.Workloads.SelectMany(w => w.AllContainers).SelectMany(c => c.Env ?? [])
            .Where(e => e.ValueFrom?.SecretKeyRef is not null).Select(e => e.ValueFrom.SecretKeyRef.Name).ToHashSet();

        Assert.NotEmpty(used);
        Assert.All(used, name => Assert.NotNull(manifests.FindSecret(name)));
    }

    [Fact]
    public async Task Secrets_ProdOverlay_ExternalOnesAreLeftToTheSreAndDocumented()
    {
        var manifests = overlays.Prod;
        var doc = await File.ReadAllTextAsync(Repository.OperationsDoc, TestContext.Current.CancellationToken);

        Assert.Empty(manifests.All<V1Secret>());
        Assert.All(ContainerEnvironment.ExternalSecrets, secret =>
        {
            Assert.Contains(secret.Key, doc, StringComparison.Ordinal);
            Assert.All(secret.Value.Keys, key => Assert.Contains($"--from-literal={key}=", doc, StringComparison.Ordinal));
        });
    }
}
