using Cluster.LoadTest.Calls;
using Cluster.LoadTest.CommandLine;
using Cluster.LoadTest.ConnectStorm;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Fanout;
using Cluster.LoadTest.Latency;
using Cluster.LoadTest.Progress;
using Cluster.LoadTest.Reporting;

namespace Cluster.LoadTest;

/// <summary>Runs one scenario against the targets and builds its report. The command line and the tests both come here.</summary>
internal static class LoadTestRun
{
    public static IScenario Create(ScenarioKind kind) => kind switch
    {
        ScenarioKind.Fanout => new FanoutScenario(churn: false),
        ScenarioKind.LinkChurn => new FanoutScenario(churn: true),
        ScenarioKind.Calls => new CallsScenario(),
        ScenarioKind.GroupFanout => new Groups.GroupFanoutScenario(),
        _ => new ConnectStormScenario(),
    };

    /// <param name="options">What to run.</param>
    /// <param name="progress">Shows progress while the run lasts (given the live status and a token that fires at the end), or null.</param>
    /// <param name="cancellationToken">Interrupts the run.</param>
    public static async Task<LoadTestReport> RunAsync(
        LoadTestOptions options, Func<RunStatus, CancellationToken, Task>? progress, CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var loadAverage = RunEnvironment.LoadAverage();
        var (sha, dirty) = RunEnvironment.Git();
        using var context = new RunContext(options, new Gateways(options.Targets, options.RequestTimeout, options.SendOver));
        using var timeline = new LatencyTimeline(context.Latencies, context.Status, TimeProvider.System);
        using var stopProgress = new CancellationTokenSource();
        var showing = progress?.Invoke(context.Status, stopProgress.Token) ?? Task.CompletedTask;
        var sampling = timeline.RunAsync(options.Interval, stopProgress.Token);
        ScenarioResult scenario;
        try
        {
            scenario = await Create(options.Scenario).RunAsync(context, cancellationToken);
        }
        finally
        {
            await stopProgress.CancelAsync();
            await showing;
            await sampling;
        }

        var results = Results(context, scenario) with
        {
            Timeline = timeline.Points,
            ErrorsOverTime = timeline.Errors,
            Curves = context.Latencies.Curves(),
        };
        return new LoadTestReport
        {
            GitSha = sha,
            GitDirty = dirty,
            Scenario = LoadTestOptions.ScenarioName(options.Scenario),
            Parameters = ReportParameters.Of(options),
            Targets = [.. options.Targets.Select(t => t.ToString())],
            StartedAt = startedAt,
            FinishedAt = DateTimeOffset.UtcNow,
            Machine = RunEnvironment.Machine(loadAverage),
            Setup = scenario.Setup,
            Results = results,
            Verdict = Judge.Decide(options, scenario, results),
            IntervalLog = timeline.IntervalLog(),
        };
    }

    private static ReportResults Results(RunContext context, ScenarioResult scenario)
    {
        var status = context.Status;
        var window = scenario.Window;
        var measured = window?.Measured.TotalSeconds ?? 0;
        var operations = window?.Operations ?? scenario.Connections?.Devices ?? 0;
        var failed = window is not null ? status.Failed : scenario.Connections?.Failed ?? 0;
        return new ReportResults
        {
            MeasuredSeconds = Math.Round(measured, 3),
            Operations = operations,
            MeasuredOperations = window?.MeasuredOperations ?? 0,
            Succeeded = window is not null ? status.Completed : operations - failed,
            Failed = failed,
            ErrorRate = operations > 0 ? Math.Round((double)failed / operations, 6) : 0,
            OperationsPerSecond = PerSecond(window?.MeasuredOperations ?? 0, measured),
            SendsPerSecond = PerSecond(context.Latencies.Count(Operations.Send), measured),
            EnvelopesPerSecond = PerSecond(context.Latencies.Count(Operations.Deliver), measured),
            MaxScheduleLagMs = Math.Round(window?.MaxScheduleLagMs ?? 0, 1),
            Drained = scenario.Drained,
            DrainSeconds = Math.Round(scenario.DrainSeconds, 3),
            Envelopes = scenario.Envelopes,
            Calls = scenario.Calls,
            Churn = scenario.Churn,
            Connections = scenario.Connections,
            Latency = context.Latencies.Summaries(),
            Errors = status.Errors,
            Events = status.Events,
            Reconnects = status.Reconnects,
            Disconnects = status.Disconnects,
            Drops = status.Drops,
            Violations = scenario.Violations,
        };
    }

    private static double PerSecond(long count, double seconds) => seconds > 0 ? Math.Round(count / seconds, 1) : 0;
}
