using System.Globalization;
using System.Text;
using System.Text.Json;
using static Cluster.LoadTest.Reporting.SvgChart;

namespace Cluster.LoadTest.Reporting;

/// <summary>
/// The report of one run as one self-contained HTML page (inline SVG charts and styles, no script library, nothing
/// fetched): latency over time per operation, throughput and errors over time, the percentile curves, and the run's
/// parameters, machine, accounting and verdict. A small inline script counts the charts the browser laid out and puts
/// the counts on <c>body</c> (<c>data-charts</c>, <c>data-drawn</c>), so that a headless browser can check the page.
/// </summary>
internal static class HtmlReport
{
    /// <summary>The x positions (in "nines": -log10(1 - p)) and labels of the percentile curves' axis.</summary>
    private static readonly (double At, string Label)[] NinesTicks =
        [(0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%"), (5, "99.999%"), (6, "max")];

    private const double MostNines = 6;

    public static string Render(LoadTestReport report)
    {
        var r = report.Results;
        var html = new StringBuilder();
        var title = F($"{report.Scenario}: {report.Parameters.Accounts} accounts x {report.Parameters.DevicesPerAccount} devices, {report.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.Append(F($"<title>{Encode(title)}</title>"));
        html.Append("""
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 16px}
            h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}
            table{border-collapse:collapse;margin:8px 0}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}
            td:first-child,th:first-child{text-align:left}.pass{color:#2a7d2a;font-weight:bold}.fail{color:#c0392b;font-weight:bold}
            svg.chart{display:block;margin:10px 0;background:#fcfcfc;border:1px solid #eee}
            svg .axis{stroke:#555}svg .grid{stroke:#e4e4e4}svg text{font:11px system-ui,sans-serif;fill:#333}
            svg .title{font-size:13px;font-weight:bold}svg .empty{fill:#999}
            </style></head><body>
            """);
        html.Append(F($"<h1>{Encode(title)}</h1>"));
        html.Append(report.Verdict.Passed ? "<p class=\"pass\">PASS</p>" : "<p class=\"fail\">FAIL</p>");
        if (report.Verdict.Failures.Count > 0)
        {
            html.Append("<ul>");
            foreach (var failure in report.Verdict.Failures)
            {
                html.Append(F($"<li>{Encode(failure)}</li>"));
            }

            html.Append("</ul>");
        }

        html.Append(F($"<p>targets: {Encode(string.Join(", ", report.Targets))}; git {Encode(report.GitSha)}{(report.GitDirty == true ? " (modified)" : "")}; finished {report.FinishedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC</p>"));

        html.Append("<h2>Results</h2>");
        Table(html, ["", "value"], [
            ["operations (measured)", F($"{r.Operations} ({r.MeasuredOperations} over {r.MeasuredSeconds:0.0} s)")],
            ["succeeded / failed", F($"{r.Succeeded} / {r.Failed} (error rate {r.ErrorRate:P3})")],
            ["throughput", F($"{r.OperationsPerSecond:0.0} operations/s, {r.SendsPerSecond:0.0} sends/s, {r.EnvelopesPerSecond:0.0} envelopes delivered/s")],
            .. r.Envelopes is { } e
                ? (string[][])[
                    ["lost", F($"{e.Lost}")],
                    ["duplicated", F($"{e.Duplicated}")],
                    ["sent / delivered / acked", F($"{e.Sent} / {e.Delivered} / {e.Acked}")],
                ]
                : [],
            ["reconnects / socket drops", F($"{r.Reconnects} / {r.Disconnects}")],
        ]);

        html.Append("<h2>Latency (ms)</h2>");
        Table(html, ["operation", "count", "p50", "p90", "p95", "p99", "p99.9", "max", "mean"],
            [.. r.Latency.Select(pair => new[]
            {
                pair.Key, F($"{pair.Value.Count}"), F($"{pair.Value.P50:0.###}"), F($"{pair.Value.P90:0.###}"), F($"{pair.Value.P95:0.###}"),
                F($"{pair.Value.P99:0.###}"), F($"{pair.Value.P999:0.###}"), F($"{pair.Value.Max:0.###}"), F($"{pair.Value.Mean:0.###}"),
            })]);

        var timeTicks = TimeTicks(r);
        html.Append("<h2>Latency over time</h2>");
        foreach (var operation in r.Timeline.Select(p => p.Operation).Distinct())
        {
            var points = r.Timeline.Where(p => p.Operation == operation && p.Count > 0).ToList();
            html.Append(Line(F($"latency-{operation}"), F($"{operation}: latency per {report.Parameters.IntervalSeconds:0.###} s interval"), "seconds since the start", "ms",
            [
                new("p50", [.. points.Select(p => (p.Seconds, p.P50))]),
                new("p95", [.. points.Select(p => (p.Seconds, p.P95))]),
                new("p99", [.. points.Select(p => (p.Seconds, p.P99))]),
            ],
            timeTicks));
        }

        html.Append("<h2>Throughput and errors over time</h2>");
        html.Append(Line("throughput", "operations ended per second", "seconds since the start", "per second",
            [.. r.Timeline.GroupBy(p => p.Operation).Select(g => new Series(g.Key, [.. g.Select(p => (p.Seconds, p.PerSecond))]))],
            timeTicks));
        html.Append(Line("errors", "errors per second", "seconds since the start", "per second",
            [new("errors", [.. r.ErrorsOverTime.Where(p => p.Length == 2).Select(p => (p[0], p[1]))])],
            timeTicks));

        html.Append("<h2>Percentile curves</h2>");
        html.Append(Line("percentiles", "latency by percentile, whole run", "percentile", "ms",
            [.. r.Curves.Select(pair => new Series(pair.Key, [.. pair.Value.Where(p => p.Length == 2).Select(p => (Nines(p[0]), p[1]))]))],
            NinesTicks));

        if (r.Errors.Count > 0)
        {
            html.Append("<h2>Errors</h2>");
            Table(html, ["kind", "count"], [.. r.Errors.Select(pair => new[] { pair.Key, F($"{pair.Value}") })]);
        }

        html.Append("<h2>Parameters</h2>");
        Table(html, ["parameter", "value"], Fields(JsonSerializer.SerializeToElement(report.Parameters, ReportJson.Default.ReportParameters)));
        html.Append("<h2>Setup</h2>");
        Table(html, ["", "value"], Fields(JsonSerializer.SerializeToElement(report.Setup, ReportJson.Default.SetupResult)));
        html.Append("<h2>Machine</h2>");
        Table(html, ["", "value"], Fields(JsonSerializer.SerializeToElement(report.Machine, ReportJson.Default.MachineInfo)));

        html.Append("""
            <script>
            (() => {
              const charts = [...document.querySelectorAll('svg.chart')];
              const drawn = charts.filter((chart) => {
                const box = chart.getBoundingClientRect();
                const lines = [...chart.querySelectorAll('polyline.series')];
                return box.width > 0 && box.height > 0 && lines.length > 0 && lines.some((line) => line.points.length > 0);
              });
              document.body.dataset.charts = String(charts.length);
              document.body.dataset.drawn = String(drawn.length);
            })();
            </script>
            </body></html>
            """);
        return html.ToString();
    }

    /// <summary>A percentile as "nines" (90 % is 1, 99 % is 2, ...), capped so that 100 % stays on the chart.</summary>
    internal static double Nines(double percentile) =>
        percentile >= 100 ? MostNines : Math.Min(MostNines, -Math.Log10(1 - (Math.Max(0, percentile) / 100)));

    /// <summary>Six ticks from the start of the run to its last interval, shared by every chart over time so that they line up.</summary>
    private static (double At, string Label)[] TimeTicks(ReportResults results)
    {
        var end = results.Timeline.Select(p => p.Seconds).Concat(results.ErrorsOverTime.Where(p => p.Length == 2).Select(p => p[0])).DefaultIfEmpty(1).Max();
        return [.. Enumerable.Range(0, 6).Select(i => end * i / 5).Select(at => (at, at.ToString(at >= 10 ? "0" : "0.#", CultureInfo.InvariantCulture)))];
    }

    private static string[][] Fields(JsonElement element) =>
        [.. element.EnumerateObject().Select(p => new[] { p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() ?? "" : p.Value.GetRawText() })];

    private static void Table(StringBuilder html, string[] header, IEnumerable<string[]> rows)
    {
        html.Append("<table><tr>");
        foreach (var cell in header)
        {
            html.Append(F($"<th>{Encode(cell)}</th>"));
        }

        html.Append("</tr>");
        foreach (var row in rows)
        {
            html.Append("<tr>");
            foreach (var cell in row)
            {
                html.Append(F($"<td>{Encode(cell)}</td>"));
            }

            html.Append("</tr>");
        }

        html.Append("</table>");
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
