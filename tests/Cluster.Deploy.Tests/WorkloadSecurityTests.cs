using k8s.Models;

namespace Cluster.Deploy.Tests;

/// <summary>Every pod of every overlay (silos, migration Job, PostgreSQL): Pod Security "restricted", resources, no API token.</summary>
public sealed class WorkloadSecurityTests(RenderedOverlays overlays)
{
    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void SecurityContext_EveryPod_NonRootWithRuntimeDefaultSeccomp(string overlay)
    {
        Assert.All(overlays[overlay].Workloads, w =>
        {
            var pod = w.Pod.SecurityContext;
            Assert.True(pod?.RunAsNonRoot == true, $"{w}: runAsNonRoot");
            Assert.True(pod.RunAsUser is > 0, $"{w}: runAsUser must be a non-zero UID");
            Assert.True(pod.SeccompProfile?.Type == "RuntimeDefault", $"{w}: seccompProfile RuntimeDefault");
            Assert.False(w.Pod.HostNetwork == true || w.Pod.HostPID == true || w.Pod.HostIPC == true, $"{w}: shares a host namespace");
        });
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void SecurityContext_EveryContainer_NoEscalationNoCapabilitiesReadOnlyRoot(string overlay)
    {
        Assert.All(overlays[overlay].Workloads.SelectMany(w => w.AllContainers.Select(c => (Workload: w, Container: c))), x =>
        {
            var (w, c) = x;
            var security = c.SecurityContext;
            Assert.True(security?.AllowPrivilegeEscalation == false, $"{w}/{c.Name}: allowPrivilegeEscalation false");
            Assert.True(security.Privileged != true, $"{w}/{c.Name}: privileged");
            Assert.True(security.ReadOnlyRootFilesystem == true, $"{w}/{c.Name}: readOnlyRootFilesystem");
            Assert.True(security.Capabilities?.Drop?.Contains("ALL") == true, $"{w}/{c.Name}: capabilities drop ALL");
            Assert.True((security.Capabilities.Add?.Count ?? 0) == 0, $"{w}/{c.Name}: adds capabilities");
            Assert.True(security.RunAsUser is null or > 0, $"{w}/{c.Name}: runs as root");
        });
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void SecurityContext_SiloImage_RunsAsTheImagesAppUserWithWritableTmpOnly(string overlay)
    {
        var manifests = overlays[overlay];
        var image = manifests.Silos.Spec.Template.Spec.Containers[0].Image;

        Assert.All(manifests.Workloads.Where(w => w.AllContainers.Any(c => c.Image == image)), w =>
        {
            Assert.Equal(1654, w.Pod.SecurityContext.RunAsUser);
            Assert.All(w.AllContainers, c =>
            {
                var mount = Assert.Single(c.VolumeMounts ?? [], m => m.MountPath == "/tmp");
                Assert.NotNull(Assert.Single(w.Pod.Volumes, v => v.Name == mount.Name).EmptyDir);
                Assert.All(c.VolumeMounts!, m => Assert.Equal("/tmp", m.MountPath));
            });
        });
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Resources_EveryContainer_RequestsAndMemoryLimitNoCpuLimit(string overlay)
    {
        Assert.All(overlays[overlay].Workloads.SelectMany(w => w.AllContainers.Select(c => (Workload: w, Container: c))), x =>
        {
            var (w, c) = x;
            var resources = c.Resources;
            Assert.True(resources?.Requests?.ContainsKey("cpu") == true, $"{w}/{c.Name}: no CPU request");
            Assert.True(resources.Requests.ContainsKey("memory"), $"{w}/{c.Name}: no memory request");
            Assert.True(resources.Limits?.ContainsKey("memory") == true, $"{w}/{c.Name}: no memory limit");
            // A throttled silo misses its membership probes and is declared dead.
            Assert.False(resources.Limits.ContainsKey("cpu"), $"{w}/{c.Name}: has a CPU limit");
            Assert.True(
                resources.Limits["memory"].ToDecimal() >= resources.Requests["memory"].ToDecimal(),
                $"{w}/{c.Name}: memory limit below the request");
        });
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void ServiceAccount_EveryPod_NoKubernetesApiToken(string overlay)
    {
        var manifests = overlays[overlay];

        Assert.All(manifests.Workloads, w => Assert.True(w.Pod.AutomountServiceAccountToken == false, $"{w}: mounts an API token it never uses"));
        Assert.DoesNotContain(manifests.Objects, o => o.Kind is "Role" or "ClusterRole" or "RoleBinding" or "ClusterRoleBinding");
    }
}
