using System.Globalization;
using System.Text.Json;

namespace Cluster.LoadTest.Reporting;

/// <summary><c>table report.json...</c>: the reports of several runs as Markdown tables, one per scenario, for docs/benchmarks.md.</summary>
internal static class MarkdownTable
{
    public static async Task<int> RunAsync(IReadOnlyList<string> paths, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var reports = new List<LoadTestReport>();
        foreach (var path in paths)
        {
            try
            {
                await using var file = File.OpenRead(path);
                reports.Add(await JsonSerializer.DeserializeAsync(file, ReportJson.Default.LoadTestReport, cancellationToken)
                    ?? throw new JsonException("empty report"));
            }
            catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"error: {path}: {ex.Message}");
                return Judge.Usage;
            }
        }

        foreach (var group in reports.GroupBy(r => r.Scenario))
        {
            Write(output, group.Key, [.. group]);
            output.WriteLine();
        }

        return Judge.Passed;
    }

    private static void Write(TextWriter output, string scenario, IReadOnlyList<LoadTestReport> reports)
    {
        switch (scenario)
        {
            case "connect-storm":
                output.WriteLine("| devices | connected at once | storm s | connect p50 / p99 ms | drops, reconnects | open at the end | server working set KiB/device | server GC heap KiB/device | client KiB/device | load avg | result |");
                output.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
                foreach (var r in reports)
                {
                    var c = r.Results.Connections!;
                    output.WriteLine(F($"| {c.Devices} | {r.Parameters.ConnectConcurrency?.ToString(CultureInfo.InvariantCulture) ?? "all"} | {c.StormSeconds:0.0} | {P(r, "connect")} | {r.Results.Disconnects}, {r.Results.Reconnects} | {c.ConnectedAtEnd} | {c.WorkingSetPerDeviceKiB:0.0} | {c.GcHeapPerDeviceKiB:0.0} | {c.ClientWorkingSetPerDeviceKiB:0.0} | {r.Machine.LoadAverageAtEnd} | {Result(r)} |"));
                }

                break;
            case "calls":
                output.WriteLine("| accounts × devices | load | calls/s | call-start p50 / p99 ms | ring p50 / p99 ms | answer p50 / p99 ms | ring→answer p50 / p99 ms | won / refused / stood down | violations | load avg | result |");
                output.WriteLine("|---|---|---:|---:|---:|---:|---:|---|---:|---|---|");
                foreach (var r in reports)
                {
                    var c = r.Results.Calls!;
                    output.WriteLine(F($"| {Shape(r)} | {Load(r)} | {r.Results.OperationsPerSecond:0.0} | {P(r, "call-start")} | {P(r, "ring")} | {P(r, "answer")} | {P(r, "ring-to-answer")} | {c.Answered} / {c.Refused} / {c.StoodDown} | {c.Violating} | {r.Machine.LoadAverageAtEnd} | {Result(r)} |"));
                }

                break;
            default:
                output.WriteLine("| accounts × devices | load | messages/s | sends/s | envelopes/s | send p50 / p99 / max ms | deliver p50 / p99 / max ms | acknowledged → delivered | lost | dup | setup s | load avg | result |");
                output.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
                foreach (var r in reports)
                {
                    var e = r.Results.Envelopes;
                    output.WriteLine(F($"| {Shape(r)} | {Load(r)} | {r.Results.OperationsPerSecond:0.0} | {r.Results.SendsPerSecond:0.0} | {r.Results.EnvelopesPerSecond:0.0} | {P(r, "send", max: true)} | {P(r, "deliver", max: true)} | {e?.Acknowledged} → {e?.Delivered} | {e?.Lost} | {e?.Duplicated} | {r.Setup.Seconds:0} | {r.Machine.LoadAverageAtEnd} | {Result(r)} |"));
                }

                break;
        }
    }

    private static string Shape(LoadTestReport r) => F($"{r.Parameters.Accounts} × {r.Parameters.DevicesPerAccount}");

    private static string Load(LoadTestReport r) => r.Parameters.Mode == "open"
        ? F($"{r.Parameters.Rate:0.#}/s, {r.Parameters.DurationSeconds:0} s")
        : F($"{r.Parameters.Concurrency} callers, {r.Parameters.DurationSeconds:0} s");

    private static string P(LoadTestReport r, string operation, bool max = false) =>
        r.Results.Latency.TryGetValue(operation, out var l)
            ? max ? F($"{l.P50:0.#} / {l.P99:0.#} / {l.Max:0}") : F($"{l.P50:0.#} / {l.P99:0.#}")
            : "–";

    private static string Result(LoadTestReport r) => r.Verdict.Passed ? "pass" : "FAIL";

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
