using System.Globalization;

namespace Cluster.LoadTest.Reporting;

/// <summary>The readable end of a run: throughput, percentiles, the accounting (<c>lost: N</c>, <c>duplicated: N</c>), the verdict.</summary>
internal static class Summary
{
    public static void Write(TextWriter output, LoadTestReport report, string? reportPath)
    {
        var p = report.Parameters;
        var r = report.Results;
        var s = report.Setup;
        var mode = p.Mode == "open"
            ? F($"open loop at {p.Rate:0.##}/s")
            : F($"closed loop, {p.Concurrency} callers");
        output.WriteLine();
        output.WriteLine(report.Scenario == "connect-storm"
            ? F($"scenario: {report.Scenario}, {p.Accounts} accounts x {p.DevicesPerAccount} devices, all sockets at once, {p.IdleSeconds:0.###} s idle")
            : F($"scenario: {report.Scenario}, {p.Accounts} accounts x {p.DevicesPerAccount} devices, {mode}, {p.DurationSeconds:0.###} s measured after {p.WarmupSeconds:0.###} s warm-up{(p.Count is { } limit ? F($", at most {limit} operations") : "")}"));
        output.WriteLine($"targets: {string.Join(", ", report.Targets)}");
        output.WriteLine(F($"machine: {report.Machine.ProcessorCount} cores, {report.Machine.Os}, load average {report.Machine.LoadAverageAtStart ?? "?"} at start, {report.Machine.LoadAverageAtEnd ?? "?"} at end; git {report.GitSha[..Math.Min(12, report.GitSha.Length)]}{(report.GitDirty == true ? " (modified)" : "")}"));
        output.WriteLine(F($"setup: {s.Accounts} accounts, {s.Devices} devices in {s.Seconds:0.0} s ({s.AccountsPerSecond:0.#} accounts/s), sockets in {s.ConnectSeconds:0.0} s{(s.FailedAccounts + s.ConnectFailures > 0 ? F($"; {s.FailedAccounts} accounts failed, {s.ConnectFailures} sockets failed") : "")}"));
        if (report.Scenario != "connect-storm")
        {
            output.WriteLine(F($"operations: {r.Operations} ({r.MeasuredOperations} measured over {r.MeasuredSeconds:0.0} s), {r.Succeeded} succeeded, {r.Failed} failed, error rate {r.ErrorRate:P3}"));
            output.WriteLine(F($"throughput: {r.OperationsPerSecond:0.0} operations/s, {r.SendsPerSecond:0.0} sends/s (200), {r.EnvelopesPerSecond:0.0} envelopes delivered/s"));
        }

        if (r.Envelopes is { } e)
        {
            output.WriteLine(F($"envelopes: sent {e.Sent}, acknowledged {e.Acknowledged} (sync copies {e.AcknowledgedSync}), delivered {e.Delivered} (direct {e.DeliveredDirect}, sync {e.DeliveredSync}), acked {e.Acked}"));
            output.WriteLine(F($"lost: {e.Lost}"));
            output.WriteLine(F($"duplicated: {e.Duplicated}"));
            output.WriteLine(F($"redelivered: {e.Redelivered}, voided (device unlinked first): {e.Voided}, to devices the run never knew: {e.ToUnknownDevices}, delivered without a 200: {e.DeliveredWithoutAcknowledgement}, unexpected: {e.Unexpected}, corrupted: {e.Corrupted}, misattributed: {e.Misattributed}"));
            output.WriteLine(F($"drain: {(r.Drained ? "complete" : "timed out")} after {r.DrainSeconds:0.0} s"));
            foreach (var sample in e.LostSamples.Take(5))
            {
                output.WriteLine($"  lost: {sample}");
            }
        }

        if (r.Churn is { } churn)
        {
            output.WriteLine(F($"churn: {churn.ChurningAccounts} accounts, {churn.Links} links, {churn.Unlinks} unlinks, {churn.Failures} failed cycles, {churn.AppStateSyncs} app state catch-ups"));
        }

        if (r.Calls is { } calls)
        {
            output.WriteLine(F($"calls: {calls.Started} started ({calls.StartFailed} failed to start), {calls.Completed} complete, answers: {calls.Answered} won, {calls.Refused} refused (409), {calls.StoodDown} stood down"));
            output.WriteLine(F($"race violations: {calls.Violating}"));
            foreach (var (kind, count) in calls.Violations)
            {
                output.WriteLine(F($"  {count} x {kind}"));
            }
        }

        if (r.Connections is { } c)
        {
            output.WriteLine(F($"connect storm: {c.Connected} of {c.Devices} devices connected in {c.StormSeconds:0.00} s, {c.Failed} failed; all open again {c.SettleSeconds:0.0} s later; {c.ConnectedAtEnd} open at the end"));
            output.WriteLine(c.WorkingSetPerDeviceKiB is { } ws
                ? F($"server memory per connected idle device: {ws:0.0} KiB working set, {c.GcHeapPerDeviceKiB:0.0} KiB GC heap (targets summed)")
                : "server memory: /metrics not readable on every target");
            output.WriteLine(F($"client memory per device: {c.ClientWorkingSetPerDeviceKiB:0.0} KiB working set"));
        }

        output.WriteLine();
        output.WriteLine(F($"{"latency (ms)",-16}{"count",10}{"p50",10}{"p90",10}{"p95",10}{"p99",10}{"p99.9",10}{"max",10}"));
        foreach (var (operation, l) in r.Latency)
        {
            output.WriteLine(F($"  {operation,-14}{l.Count,10}{l.P50,10:0.0}{l.P90,10:0.0}{l.P95,10:0.0}{l.P99,10:0.0}{l.P999,10:0.0}{l.Max,10:0.0}"));
        }

        output.WriteLine();
        output.WriteLine(r.Errors.Count == 0 ? "errors: none" : "errors:");
        foreach (var (kind, count) in r.Errors)
        {
            output.WriteLine(F($"  {count,8}  {kind}"));
        }

        foreach (var violation in r.Violations.Take(5))
        {
            output.WriteLine($"violation: {violation}");
        }

        output.WriteLine(F($"reconnects: {r.Reconnects}, socket drops: {r.Disconnects}{(r.Drops.Count > 0 ? " (" + string.Join(", ", r.Drops.Select(d => F($"{d.Value} x {d.Key}"))) + ")" : "")}"));
        output.WriteLine(report.Verdict.Passed ? "result: PASS" : "result: FAIL");
        foreach (var failure in report.Verdict.Failures)
        {
            output.WriteLine($"  {failure}");
        }

        if (reportPath is not null)
        {
            output.WriteLine($"report: {reportPath}");
        }
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
