using System.Globalization;
using Cluster.LoadTest.CommandLine;

namespace Cluster.LoadTest.Reporting;

/// <summary>Decides whether a run passed: nothing lost or duplicated, no violation, setup complete, thresholds kept.</summary>
internal static class Judge
{
    public const int Passed = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;

    public static Verdict Decide(LoadTestOptions options, ScenarioResult scenario, ReportResults results)
    {
        var failures = new List<string>();
        var setup = scenario.Setup;
        if (setup.FailedAccounts > 0)
        {
            failures.Add($"setup: {setup.FailedAccounts} accounts could not be set up");
        }

        if (setup.ConnectFailures > 0)
        {
            failures.Add($"setup: {setup.ConnectFailures} devices could not connect");
        }

        if (results.Envelopes is { } envelopes)
        {
            Require(failures, envelopes.Lost, "lost");
            Require(failures, envelopes.Duplicated, "duplicated");
            Require(failures, envelopes.Corrupted, "corrupted");
            Require(failures, envelopes.Misattributed, "misattributed (wrong source or destination)");
            Require(failures, envelopes.Unexpected, "unexpected (no send of this run made them)");
            if (envelopes.Acknowledged == 0)
            {
                failures.Add("no send got a 200: nothing was measured");
            }
        }

        if (results.Calls is { } calls)
        {
            Require(failures, calls.Violating, "calls with a race violation");
            if (calls.Started == 0)
            {
                failures.Add("no call was started");
            }
        }

        if (results.Connections is { } connections)
        {
            if (connections.Failed > 0)
            {
                failures.Add($"connect-storm: {connections.Failed} of {connections.Devices} devices did not connect");
            }
            else if (connections.ConnectedAtEnd < connections.Devices)
            {
                failures.Add($"connect-storm: {connections.Devices - connections.ConnectedAtEnd} of {connections.Devices} sockets were not open when memory was measured");
            }
        }

        if (scenario.Violations.Count > 0)
        {
            failures.Add($"{scenario.Violations.Count} protocol violations, e.g. {scenario.Violations[0]}");
        }

        if (options.MaxP99Ms is { } maxP99)
        {
            foreach (var operation in scenario.GatedOperations)
            {
                if (results.Latency.TryGetValue(operation, out var latency) && latency.P99 > maxP99)
                {
                    failures.Add(string.Create(CultureInfo.InvariantCulture, $"p99 of {operation} is {latency.P99:0.#} ms, over --max-p99-ms {maxP99:0.#}"));
                }
            }
        }

        if (options.MaxErrorRate is { } maxErrorRate && results.ErrorRate > maxErrorRate)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"error rate {results.ErrorRate:P3} is over --max-error-rate {maxErrorRate:P3}"));
        }

        return new Verdict(failures.Count == 0, failures.Count == 0 ? Passed : Failed, failures);
    }

    private static void Require(List<string> failures, long count, string what)
    {
        if (count > 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{what}: {count}"));
        }
    }
}
