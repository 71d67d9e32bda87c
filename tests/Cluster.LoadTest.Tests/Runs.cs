using Cluster.LoadTest.CommandLine;
using Cluster.LoadTest.Reporting;
using Cluster.Testing;

namespace Cluster.LoadTest.Tests;

/// <summary>Small, bounded runs of the scenario engine in this process against the shared silo.</summary>
internal static class Runs
{
    public static LoadTestOptions Small(TestSilo silo, ScenarioKind scenario) => new()
    {
        Scenario = scenario,
        Targets = [silo.BaseAddress],
        Accounts = 6,
        DevicesPerAccount = 3,
        Concurrency = 4,
        Count = 40,
        Duration = TimeSpan.FromSeconds(60),
        Warmup = TimeSpan.Zero,
        Drain = TimeSpan.FromSeconds(30),
        SetupConcurrency = 6,
        Seed = 42,
        Live = false,
    };

    public static Task<LoadTestReport> RunAsync(LoadTestOptions options) =>
        LoadTestRun.RunAsync(options, progress: null, TestContext.Current.CancellationToken);

    /// <summary>The report's failures, for an assertion message.</summary>
    public static string Why(LoadTestReport report) => string.Join("; ", report.Verdict.Failures.Concat(report.Results.Errors.Select(e => $"{e.Value} x {e.Key}")));
}
