using Cluster.LoadTest.CommandLine;
using Cluster.Testing;

namespace Cluster.LoadTest.Tests;

[Collection(SharedSilo.Name)]
public sealed class CallsScenarioTests(SiloFixture fixture)
{
    [Fact]
    public async Task Run_ThreeDeviceCallees_ExactlyOneAnswerWinsEveryCall()
    {
        var options = Runs.Small(fixture.Silo, ScenarioKind.Calls) with { Accounts = 4, Count = 12, Concurrency = 2, AnswerDelay = TimeSpan.FromMilliseconds(30) };

        var report = await Runs.RunAsync(options);

        Assert.True(report.Verdict.Passed, Runs.Why(report));
        var calls = report.Results.Calls!;
        Assert.Equal(12, calls.Started);
        Assert.Equal(12, calls.Completed);
        Assert.Equal(12, calls.Answered);
        Assert.Equal(0, calls.Violating);

        // Every callee device either won, was refused (409 call_not_ringing), or stood down after callAnsweredElsewhere.
        Assert.Equal(12 * 3, calls.Answered + calls.Refused + calls.StoodDown);
        Assert.Equal(12 * 3, report.Results.Latency["ring"].Count);
        Assert.Equal(12, report.Results.Latency["ring-to-answer"].Count);
    }
}
