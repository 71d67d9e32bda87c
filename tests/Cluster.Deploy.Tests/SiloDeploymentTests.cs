using System.Globalization;
using System.Text.RegularExpressions;
using Cluster.Silo.Hosting;
using k8s.Models;

namespace Cluster.Deploy.Tests;

/// <summary>The silo Deployment: rollout, ports, probes, graceful shutdown and the settings the silo reads.</summary>
public sealed partial class SiloDeploymentTests(RenderedOverlays overlays)
{
    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Rollout_Upgrade_AddsOneSiloBeforeStoppingOne(string overlay)
    {
        var spec = overlays[overlay].Silos.Spec;

        Assert.Equal("RollingUpdate", spec.Strategy.Type);
        Assert.Equal("0", spec.Strategy.RollingUpdate.MaxUnavailable.Value);
        Assert.Equal("1", spec.Strategy.RollingUpdate.MaxSurge.Value);
        Assert.True(spec.MinReadySeconds > 0, "minReadySeconds: a new silo must stay ready a while before the next old one stops");
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Ports_SiloContainer_HttpAndSiloNamedAndMatchTheSettingsNoGateway(string overlay)
    {
        var (container, options, environment) = Silo(overlays[overlay]);

        Assert.Equal(8080, Port(container, "http"));
        Assert.Equal(options.SiloPort, Port(container, "orleans-silo"));
        Assert.Equal(0, options.GatewayPort);
        Assert.DoesNotContain(container.Ports, p => p.Name == "orleans-gateway");
        var urls = UrlsPattern().Match(environment.Variables.GetValueOrDefault("Urls", ""));
        Assert.True(urls.Success, $"Urls='{environment.Variables.GetValueOrDefault("Urls")}' must be http://+:PORT (every interface; appsettings.json says 127.0.0.1)");
        Assert.Equal(Port(container, "http"), int.Parse(urls.Groups["port"].Value, CultureInfo.InvariantCulture));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Probes_SiloContainer_StartupAndLivenessLocalReadinessOnReady(string overlay)
    {
        var (container, _, _) = Silo(overlays[overlay]);

        // Liveness must not depend on the database: an outage would restart every pod at once.
        Assert.Equal("/health/live", container.StartupProbe.HttpGet.Path);
        Assert.Equal("/health/live", container.LivenessProbe.HttpGet.Path);
        Assert.Equal("/health/ready", container.ReadinessProbe.HttpGet.Path);
        Assert.All(new[] { container.StartupProbe, container.LivenessProbe, container.ReadinessProbe }, p => Assert.Equal("http", p.HttpGet.Port.Value));
        Assert.True(
            container.StartupProbe.PeriodSeconds * container.StartupProbe.FailureThreshold >= 120,
            "the startup probe must allow a slow start (a silo on a busy node needed 50 s)");
        Assert.True(
            container.LivenessProbe.PeriodSeconds * container.LivenessProbe.FailureThreshold >= 30,
            "liveness must tolerate a long GC pause");
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Shutdown_GracePeriod_ExceedsPreStopPlusHostShutdownTimeout(string overlay)
    {
        var manifests = overlays[overlay];
        var (container, options, _) = Silo(manifests);
        var grace = manifests.Silos.Spec.Template.Spec.TerminationGracePeriodSeconds;

        var preStop = container.Lifecycle?.PreStop?.Sleep?.Seconds;
        Assert.True(preStop is > 0, "a preStop sleep keeps the silo serving while endpoints forget it");
        Assert.True(options.ShutdownDrainSeconds > 0, "Cluster__ShutdownDrainSeconds: readiness off, still serving");
        Assert.True(
            options.ShutdownTimeoutSeconds >= options.ShutdownDrainSeconds + ClusterHostOptions.MinimumStopSeconds,
            "the host's shutdown timeout must hold the drain, the socket close (1001) and leaving the cluster");
        Assert.True(grace > preStop + options.ShutdownTimeoutSeconds,
            $"terminationGracePeriodSeconds {grace} must exceed preStop {preStop} s + Cluster__ShutdownTimeoutSeconds {options.ShutdownTimeoutSeconds} s, or the kubelet kills the silo mid-shutdown");
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Settings_SiloContainer_EveryClusterSettingTheSiloNeedsIsSetAndValid(string overlay)
    {
        var (_, options, environment) = Silo(overlays[overlay]);

        Assert.Equal(StorageMode.PostgreSql, options.StorageMode);
        Assert.Matches("^secret:cluster-database(-[a-z0-9]{10})?/connection-string$", environment.Sources["Cluster__ConnectionString"]);
        Assert.Equal(ContainerEnvironment.PodIp, options.AdvertisedAddress);
        Assert.Equal(ContainerEnvironment.PodName, options.SiloName);
        Assert.Equal("field:status.podIP", environment.Sources["POD_IP"]);
        Assert.Equal("field:metadata.name", environment.Sources["POD_NAME"]);

        // Set explicitly, not left to defaults that suit a developer's machine.
        Assert.All(RequiredSettings, key => Assert.True(environment.Variables.ContainsKey(key), $"{overlay}: the silo container does not set {key}"));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Settings_EveryContainerOfTheSiloImage_OnlyNamesRealSettings(string overlay)
    {
        var manifests = overlays[overlay];
        var known = KnownSettings();

        foreach (var container in SiloImageContainers(manifests))
        {
            var environment = ContainerEnvironment.Resolve(manifests, container);
            var unknown = environment.Variables.Keys
                .Where(k => k.StartsWith($"{ClusterHostOptions.SectionName}__", StringComparison.OrdinalIgnoreCase))
                .Select(k => k.Replace("__", ":", StringComparison.Ordinal))
                .Where(k => !known.Contains(k))
                .ToList();

            Assert.True(unknown.Count == 0, $"{container.Name} sets {string.Join(", ", unknown)}, which ClusterHostOptions does not have (a typo is silently ignored)");
            Assert.Empty(environment.Problems);
            Assert.Equal(StorageMode.PostgreSql, ClusterHostOptions.Load(environment.ToConfiguration()).StorageMode);
        }
    }

    [Fact]
    public void Tls_MutualTlsComponent_MountsTheSecretReadOnlyAndPointsEverySettingIntoIt()
    {
        var manifests = overlays.ProdWithMutualTls;
        var pod = manifests.Silos.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        var environment = ContainerEnvironment.Resolve(manifests, container);
        Assert.Empty(environment.Problems);

        var mount = Assert.Single(container.VolumeMounts, m => m.Name == "silo-tls");
        Assert.True(mount.ReadOnlyProperty, "the silo's key must be mounted read-only");
        var volume = Assert.Single(pod.Volumes, v => v.Name == "silo-tls");
        Assert.Equal("cluster-silo-tls", volume.Secret.SecretName);

        string[] keys = ["Cluster__Tls__CertificatePath", "Cluster__Tls__KeyPath", "Cluster__Tls__CertificateAuthorityPath"];
        var paths = keys.Select(k => environment.Variables.GetValueOrDefault(k) ?? $"({k} not set)").ToList();
        Assert.All(paths, path => Assert.Equal(mount.MountPath, Path.GetDirectoryName(path)));
        // The keys of a cert-manager TLS Secret, so that a Certificate resource can provide it.
        Assert.Equal(["tls.crt", "tls.key", "ca.crt"], paths.Select(Path.GetFileName));
        var known = KnownSettings();
        Assert.All(keys, k => Assert.Contains(k.Replace("__", ":", StringComparison.Ordinal), known));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlays.Names), MemberType = typeof(RenderedOverlays))]
    public void Migration_JobAndInitContainer_RunTheSilosMigrateCommand(string overlay)
    {
        var manifests = overlays[overlay];
        var job = manifests.MigrateJob.Spec;
        var init = Assert.Single(manifests.Silos.Spec.Template.Spec.InitContainers);

        Assert.Equal(["migrate"], Assert.Single(job.Template.Spec.Containers).Args);
        Assert.Equal("Never", job.Template.Spec.RestartPolicy);
        Assert.True(job.BackoffLimit > 0, "the Job must retry while the database comes up (exit code 4)");
        Assert.Equal(["migrate", "--wait"], init.Args);
    }

    private static readonly string[] RequiredSettings =
    [
        "Cluster__Storage", "Cluster__ConnectionString", "Cluster__ClusterId", "Cluster__ServiceId", "Cluster__SiloPort",
        "Cluster__AdvertisedAddress", "Cluster__SiloName", "Cluster__ShutdownDrainSeconds",
        "Cluster__ShutdownTimeoutSeconds", "Urls",
    ];

    /// <summary>Every <c>Cluster:*</c> key ClusterHostOptions binds, nested sections included, from its public properties.</summary>
    private static HashSet<string> KnownSettings()
    {
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void Add(Type type, string prefix)
        {
            foreach (var property in type.GetProperties().Where(p => p.CanWrite))
            {
                var key = $"{prefix}:{property.Name}";
                if (property.PropertyType.IsClass && property.PropertyType != typeof(string))
                {
                    Add(property.PropertyType, key);
                }
                else
                {
                    keys.Add(key);
                }
            }
        }

        Add(typeof(ClusterHostOptions), ClusterHostOptions.SectionName);
        return keys;
    }

    private static IEnumerable<V1Container> SiloImageContainers(Manifests manifests)
    {
        var image = manifests.Silos.Spec.Template.Spec.Containers[0].Image;
        return manifests.Workloads.SelectMany(w => w.AllContainers).Where(c => c.Image == image);
    }

    private static (V1Container Container, ClusterHostOptions Options, ContainerEnvironment Environment) Silo(Manifests manifests)
    {
        var container = Assert.Single(manifests.Silos.Spec.Template.Spec.Containers);
        var environment = ContainerEnvironment.Resolve(manifests, container);
        Assert.Empty(environment.Problems);
        return (container, ClusterHostOptions.Load(environment.ToConfiguration()), environment);
    }

    private static int Port(V1Container container, string name) =>
        Assert.Single(container.Ports, p => p.Name == name).ContainerPort;

    [GeneratedRegex(@"^http://(\+|\*|0\.0\.0\.0|\[::\]):(?<port>\d+)/?$")]
    private static partial Regex UrlsPattern();
}
