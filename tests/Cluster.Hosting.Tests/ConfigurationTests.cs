using Cluster.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Hosting.Tests;

public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("--Cluster:Storage=Cassandra", "Cluster:Storage")]
    [InlineData("--Cluster:SiloPort=70000", "Cluster:SiloPort")]
    [InlineData("--Cluster:GatewayPort=70000", "Cluster:GatewayPort")]
    [InlineData("--Cluster:GatewayPort=30000", "Cluster:GatewayPort: a gateway (30000) lets its clients call any grain method")]
    [InlineData("--Cluster:Tls:CertificatePath=/nonexistent/silo.pem --Cluster:Tls:CertificateAuthorityPath=/nonexistent/ca.pem", "Cluster:Tls:CertificatePath: cannot load")]
    [InlineData("--Cluster:Tls:CertificatePath=/nonexistent/silo.pem", "Cluster:Tls:CertificateAuthorityPath: required")]
    [InlineData("--Cluster:GatewayPort=many", "Cluster:GatewayPort")]
    [InlineData("--Cluster:AdvertisedAddress=not-an-ip", "Cluster:AdvertisedAddress")]
    [InlineData("--Cluster:DevicePlacement=Nearby", "Cluster:DevicePlacement")]
    [InlineData("--Cluster:SocketKeepAliveSeconds=3600", "Cluster:SocketKeepAliveSeconds")]
    [InlineData("--Cluster:SocketKeepAliveSeconds=0", "Cluster:SocketKeepAliveSeconds")]
    [InlineData("--Cluster:MaxSockets=0", "Cluster:MaxSockets")]
    [InlineData("--Cluster:MaxConnections=-5", "Cluster:MaxConnections")]
    [InlineData("--Cluster:MaxConnections=100 --Cluster:MaxSockets=200", "Cluster:MaxSockets: 200 is more than Cluster:MaxConnections (100)")]
    [InlineData("--Sockets:MaxOutboundBytes=100000", "Sockets:MaxOutboundBytes: 100000 is less than Messages:MaxUnackedBytes")]
    [InlineData("--Sockets:MaxOutboundFrames=100", "Sockets:MaxOutboundFrames")]
    [InlineData("--Sockets:CloseTimeout=00:00:00", "CloseTimeout")]
    [InlineData("--Cluster:Membership:MaxProbeTimeoutSeconds=1", "Cluster:Membership:MaxProbeTimeoutSeconds: 1 is outside 2")]
    [InlineData("--Cluster:Membership:RefusedConnectionChecks=0", "Cluster:Membership:RefusedConnectionChecks")]
    [InlineData("--Cluster:Membership:RefusedConnectionCheckIntervalSeconds=0", "Cluster:Membership:RefusedConnectionCheckIntervalSeconds")]
    public async Task Start_BadSetting_ExitsWithMessageNamingKey(string settings, string key)
    {
        var (exitCode, _, stderr) = await SiloProcess.RunAsync(settings.Split(' '), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, exitCode);
        Assert.Contains(key, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=abc")]
    [InlineData("Hots=127.0.0.1")]
    [InlineData("")]
    public async Task Start_BadPostgresConnectionString_ExitsWithMessageNamingKey(string connectionString)
    {
        var (exitCode, _, stderr) = await SiloProcess.RunAsync(
            ["--Cluster:Storage=PostgreSql", $"--Cluster:ConnectionString={connectionString}"],
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, exitCode);
        Assert.Contains("Cluster:ConnectionString", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_TwiceOnEmbeddedFile_SecondRunAppliesNothing()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-migrate-").FullName, "cluster.db");

        var first = await SiloProcess.RunAsync(["migrate", $"--Cluster:DataPath={dataPath}"], cancellationToken: TestContext.Current.CancellationToken);
        var second = await SiloProcess.RunAsync(["migrate", $"--Cluster:DataPath={dataPath}"], cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(first.ExitCode == 0, first.StandardError);
        Assert.Contains("applied 0001", first.StandardOutput, StringComparison.Ordinal);
        Assert.True(second.ExitCode == 0, second.StandardError);
        Assert.Contains(": 0 applied", second.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// The configuration files are read once: no file source reloads on change, so no watcher sits on the content root,
    /// where the embedded mode's SQLite files are written (issue 16: the watcher took 13 % of the CPU at saturation).
    /// </summary>
    [Fact]
    public async Task Start_Default_NoConfigurationFileReloadsOnChange()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        var root = (IConfigurationRoot)silo.Services.GetRequiredService<IConfiguration>();
        var files = root.Providers.OfType<FileConfigurationProvider>().ToList();
        Assert.NotEmpty(files);
        Assert.All(files, file => Assert.False(file.Source.ReloadOnChange, $"{file.Source.Path} reloads on change"));
    }

    /// <summary>
    /// The silo as built (its runtimeconfig.json, copied beside these tests) lets idle thread-pool workers sleep at once
    /// instead of spinning: docs/benchmarks.md, "Session of 2026-12-08".
    /// </summary>
    [Fact]
    public void RuntimeConfig_AsBuilt_ThreadPoolWorkersDoNotSpin()
    {
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cluster.Silo.runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
    }
}
