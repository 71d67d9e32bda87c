using System.Net;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Hosting.Tests;

public sealed class HealthTests
{
    [Fact]
    public async Task Ready_ShutdownBegun_UnavailableWhileStillServingDuringDrain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var silo = await TestSilo.StartAsync(
            new TestSiloSettings { Time = time, Settings = new Dictionary<string, string> { ["Cluster:ShutdownDrainSeconds"] = "20" } },
            TestContext.Current.CancellationToken);
        await using var _ = silo;
        using var http = silo.CreateHttpClient();
        using (var live = await http.GetAsync("/health/live", TestContext.Current.CancellationToken))
        using (var ready = await http.GetAsync("/health/ready", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // SIGTERM: shutdown begins with the drain, during which the silo still serves but is not ready.
        var stopping = silo.App.StopAsync(TestContext.Current.CancellationToken);
        using (var ready = await http.GetAsync("/health/ready", TestContext.Current.CancellationToken))
        using (var live = await http.GetAsync("/health/live", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        Assert.False(stopping.IsCompleted, "the drain should hold the silo up until its time has passed");
        time.Advance(TimeSpan.FromSeconds(20));
        await stopping.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Ready_SiloNotYetStarted_Unhealthy()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-health-").FullName, "cluster.db");
        await using var app = Cluster.Silo.SiloApplication.Build(
            [$"--Cluster:DataPath={dataPath}", "--urls=http://127.0.0.1:0", $"--Cluster:SiloPort={FreePorts.Next()}"]);

        var report = await app.Services.GetRequiredService<HealthCheckService>()
            .CheckHealthAsync(check => check.Tags.Contains("ready"), TestContext.Current.CancellationToken);

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["silo"].Status);
    }

    [Fact]
    public async Task Metrics_RunningSilo_ExportsOrleansAndRuntimeSeries()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = silo.CreateHttpClient();
        await TestAccounts.RegisterAsync(silo);

        var text = await http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

        Assert.Contains("orleans_", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
        Assert.Contains("cluster_accounts_registered_total", text, StringComparison.Ordinal);
    }
}
