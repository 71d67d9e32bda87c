using Cluster.LoadTest.CommandLine;
using Cluster.Testing;

namespace Cluster.LoadTest.Tests;

[Collection(SharedSilo.Name)]
public sealed class ConnectStormScenarioTests(SiloFixture fixture)
{
    [Fact]
    public async Task Run_TwentyDevicesAtOnce_AllConnectAndServerMemoryIsSampled()
    {
        var options = Runs.Small(fixture.Silo, ScenarioKind.ConnectStorm) with { Accounts = 10, DevicesPerAccount = 2, Idle = TimeSpan.Zero };

        var report = await Runs.RunAsync(options);

        Assert.True(report.Verdict.Passed, Runs.Why(report));
        var connections = report.Results.Connections!;
        Assert.Equal(20, connections.Devices);
        Assert.Equal(20, connections.Connected);
        Assert.Equal(20, connections.ConnectedAtEnd);
        Assert.Equal(0, connections.Failed);
        Assert.Equal(20, report.Results.Latency["connect"].Count);
        Assert.True(Assert.Single(connections.ServerBefore).WorkingSetBytes > 0, "the silo's /metrics was read before the storm");
        Assert.True(Assert.Single(connections.ServerAfter).WorkingSetBytes > 0, "and after it");
        Assert.NotNull(connections.WorkingSetPerDeviceKiB);
    }
}
