using Cluster.LoadTest.CommandLine;
using Cluster.Testing;

namespace Cluster.LoadTest.Tests;

[Collection(SharedSilo.Name)]
public sealed class FanoutScenarioTests(SiloFixture fixture)
{
    [Fact]
    public async Task Run_SixAccountsOfThreeDevices_EveryCopyArrivesOnceAtEveryDevice()
    {
        var report = await Runs.RunAsync(Runs.Small(fixture.Silo, ScenarioKind.Fanout));

        Assert.True(report.Verdict.Passed, Runs.Why(report));
        Assert.Equal(0, report.Verdict.ExitCode);
        var envelopes = report.Results.Envelopes!;
        Assert.Equal(40, envelopes.Messages);
        Assert.Equal(0, report.Results.Failed);

        // Each message: one copy for each of the destination's 3 devices, one sync copy for each of the sender's other 2.
        Assert.Equal(40 * 5, envelopes.Acknowledged);
        Assert.Equal(40 * 2, envelopes.AcknowledgedSync);
        Assert.Equal(envelopes.Acknowledged, envelopes.Delivered);
        Assert.Equal(envelopes.AcknowledgedSync, envelopes.DeliveredSync);
        Assert.Equal(envelopes.Acknowledged, envelopes.Sent);
        Assert.Equal(envelopes.Delivered, envelopes.Acked);
        Assert.Equal(0, envelopes.Lost);
        Assert.Equal(0, envelopes.Duplicated);
        Assert.Equal(0, envelopes.Unexpected + envelopes.Corrupted + envelopes.Misattributed);
        Assert.True(report.Results.Drained);
        Assert.Equal(18, report.Setup.Devices);
        Assert.Equal(80, report.Results.Latency["send"].Count);
        Assert.Equal(200, report.Results.Latency["deliver"].Count);
    }

    [Fact]
    public async Task Run_OpenLoopOverTwoTargetUrls_CountsEveryOperationAndLosesNothing()
    {
        var silo = fixture.Silo;
        var options = Runs.Small(silo, ScenarioKind.Fanout) with
        {
            Targets = [silo.BaseAddress, new Uri($"http://localhost:{silo.BaseAddress.Port}")],
            Accounts = 4,
            DevicesPerAccount = 2,
            Concurrency = null,
            Rate = 50,
            Count = 30,
            Warmup = TimeSpan.FromMilliseconds(100),
        };

        var report = await Runs.RunAsync(options);

        Assert.True(report.Verdict.Passed, Runs.Why(report));
        Assert.Equal("open", report.Parameters.Mode);
        Assert.Equal(30, report.Results.Operations);
        Assert.Equal(30 * 3, report.Results.Envelopes!.Acknowledged);
        Assert.Equal(report.Results.Envelopes.Acknowledged, report.Results.Envelopes.Delivered);
        Assert.Equal(0, report.Results.Envelopes.Lost);
        Assert.Equal(0, report.Results.Envelopes.Duplicated);
        Assert.True(report.Results.MeasuredOperations is > 0 and < 30, "the first operations fall in the warm-up");
    }
}
