using Cluster.Testing;

namespace Cluster.Security.Tests;

/// <summary>The stall report the client-fault tests fail with names the silo's state instead of a bare timeout.</summary>
public sealed class StallReportTests
{
    [Fact]
    public async Task WithinAsync_RequestNeverAnswered_FailsWithTheSilosState()
    {
        var cancel = TestContext.Current.CancellationToken;
        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = logs.AddTo }, cancel);

        var stall = await Assert.ThrowsAsync<TimeoutException>(() => StallReport.WithinAsync(
            silo, logs, TimeSpan.FromMilliseconds(200), async t => { await Task.Delay(Timeout.Infinite, t); return 0; }, cancel));

        Assert.Contains("no answer after", stall.Message, StringComparison.Ordinal);
        Assert.Contains("thread pool:", stall.Message, StringComparison.Ordinal);
        Assert.Contains("GET /health/live: 200", stall.Message, StringComparison.Ordinal);
        Assert.Contains("log entries at Warning or above", stall.Message, StringComparison.Ordinal);
        Assert.Equal(7, await StallReport.WithinAsync(silo, logs, TimeSpan.FromSeconds(30), _ => Task.FromResult(7), cancel));
    }
}
