using Cluster.LoadTest.CommandLine;
using Cluster.Testing;

namespace Cluster.LoadTest.Tests;

[Collection(SharedSilo.Name)]
public sealed class GroupFanoutScenarioTests(SiloFixture fixture)
{
    [Fact]
    public async Task Run_TwoGroupsOfThreeDeviceMembers_EveryCopyOnceAndNoneToTheRemovedMembers()
    {
        // 7 accounts in groups of 4: one of 4 and one of 3, each dropping its last member (3 and 2 remain).
        var report = await Runs.RunAsync(Runs.Small(fixture.Silo, ScenarioKind.GroupFanout) with { Accounts = 7, GroupSize = 4 });

        Assert.True(report.Verdict.Passed, Runs.Why(report));
        var envelopes = report.Results.Envelopes!;
        Assert.Equal(40, envelopes.Messages);
        Assert.Equal(0, report.Results.Failed);
        Assert.True(envelopes.Acknowledged >= 40 * 5, $"{envelopes.Acknowledged} copies promised");
        Assert.Equal(envelopes.Acknowledged, envelopes.Delivered);
        Assert.Equal(envelopes.Acknowledged, envelopes.Sent);
        Assert.Equal(0, envelopes.Lost);
        Assert.Equal(0, envelopes.Duplicated);
        Assert.Equal(0, envelopes.DeliveredWithoutAcknowledgement);
        Assert.Equal(0, envelopes.Unexpected + envelopes.Corrupted + envelopes.Misattributed);
        Assert.Empty(report.Results.Violations);
        Assert.True(report.Results.Drained);
        Assert.Equal(21, report.Setup.Devices);
    }
}
