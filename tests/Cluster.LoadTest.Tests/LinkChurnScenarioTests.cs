using Cluster.LoadTest.CommandLine;
using Cluster.Testing;

namespace Cluster.LoadTest.Tests;

[Collection(SharedSilo.Name)]
public sealed class LinkChurnScenarioTests(SiloFixture fixture)
{
    [Fact]
    public async Task Run_CompanionsLinkedAndUnlinkedDuringTraffic_NothingLostNorDuplicated()
    {
        var options = Runs.Small(fixture.Silo, ScenarioKind.LinkChurn) with
        {
            Accounts = 4,
            DevicesPerAccount = 2,
            Concurrency = null,
            Rate = 25,
            Count = null,
            Duration = TimeSpan.FromSeconds(8),
            ChurnShare = 0.5,
            ChurnDwell = TimeSpan.FromMilliseconds(200),
        };

        var report = await Runs.RunAsync(options);

        Assert.True(report.Verdict.Passed, Runs.Why(report));
        var churn = report.Results.Churn!;
        Assert.Equal(2, churn.ChurningAccounts);
        Assert.True(churn.Links >= 1, "a companion was linked through the provisioning flow");
        Assert.True(churn.Unlinks >= 1, "a companion was unlinked");
        Assert.True(churn.AppStateSyncs >= 1, "a new companion caught up on the account's app state");
        Assert.Empty(report.Results.Violations);
        var envelopes = report.Results.Envelopes!;
        Assert.True(envelopes.Delivered > 0);
        Assert.Equal(envelopes.Acknowledged, envelopes.Delivered + envelopes.Voided);
        Assert.Equal(0, envelopes.Lost);
        Assert.Equal(0, envelopes.Duplicated);
    }
}
