using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cluster.LoadTest.Reporting;
using Cluster.Testing;
using HdrHistogram;

namespace Cluster.LoadTest.Tests;

[Collection(SharedSilo.Name)]
public sealed partial class HtmlReportTests(SiloFixture fixture) : IDisposable
{
    private readonly DirectoryInfo reports = Directory.CreateTempSubdirectory("loadtest-html-");

    public void Dispose() => reports.Delete(recursive: true);

    private static readonly string[] Browsers = ["chromium", "chromium-browser", "google-chrome"];

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_SmallFanout_WritesTimelineCurvesIntervalLogAndHtmlBesideTheJson()
    {
        var (html, report, log) = await RunAsync();

        // The JSON: p95 beside the others, a timeline of several intervals, a percentile curve per operation.
        var results = report.RootElement.GetProperty("results");
        var deliver = results.GetProperty("latency").GetProperty("deliver");
        Assert.True(deliver.GetProperty("p95").GetDouble() >= deliver.GetProperty("p90").GetDouble());
        Assert.True(deliver.GetProperty("p99").GetDouble() >= deliver.GetProperty("p95").GetDouble());
        var timeline = results.GetProperty("timeline").EnumerateArray().ToList();
        var deliverPoints = timeline.Where(p => p.GetProperty("operation").GetString() == "deliver").ToList();
        Assert.True(deliverPoints.Count >= 3, $"{deliverPoints.Count} deliver points in the timeline");
        Assert.Equal(deliver.GetProperty("count").GetInt64(), deliverPoints.Sum(p => p.GetProperty("count").GetInt64()));
        var curve = results.GetProperty("curves").GetProperty("deliver").EnumerateArray().Select(p => (P: p[0].GetDouble(), Ms: p[1].GetDouble())).ToList();
        Assert.True(curve.Count >= 5);
        Assert.Equal(100, curve[^1].P);
        Assert.True(curve.Zip(curve.Skip(1)).All(pair => pair.Second.P >= pair.First.P && pair.Second.Ms >= pair.First.Ms), "the curve must rise");

        // The interval log: HdrHistogram's format, read back by its own reader, the same counts as the report.
        Assert.StartsWith("#[Histogram log format version", log, StringComparison.Ordinal);
        using var stream = new MemoryStream(System.Text.Encoding.ASCII.GetBytes(log));
        using var reader = new HistogramLogReader(stream);
        var intervals = reader.ReadHistograms().ToList();
        Assert.Equal(deliver.GetProperty("count").GetInt64(), intervals.Where(h => h.Tag == "deliver").Sum(h => h.TotalCount));
        Assert.Equal(results.GetProperty("latency").GetProperty("send").GetProperty("count").GetInt64(), intervals.Where(h => h.Tag == "send").Sum(h => h.TotalCount));

        // The HTML: the charts, each with its lines, and the tables.
        foreach (var chart in (string[])["latency-send", "latency-deliver", "throughput", "errors", "percentiles"])
        {
            Assert.Contains($"data-chart=\"{chart}\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("<polyline class=\"series\" data-series=\"p95\"", html, StringComparison.Ordinal);
        Assert.Contains("<th>p95</th>", html, StringComparison.Ordinal);
        Assert.Contains("<td>lost</td><td>0</td>", html, StringComparison.Ordinal);
        Assert.Contains("<p class=\"pass\">PASS</p>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace(fixture.Silo.BaseAddress.ToString(), "", StringComparison.Ordinal)
            .Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    /// <summary>Renders the report in headless Chromium (Debian's <c>chromium</c>, which .ci/run installs): every chart is laid out with a line in it.</summary>
    [Fact]
    public async Task HtmlReport_HeadlessChromium_LaysOutEveryChartWithItsLines()
    {
        var chromium = Browsers.Select(Which).FirstOrDefault(path => path is not null);
        Assert.SkipWhen(chromium is null, "Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it.");
        var (html, _, _) = await RunAsync();
        var page = Path.Combine(reports.FullName, "report.html");
        var charts = ChartTag().Count(html);
        Assert.True(charts >= 5, $"{charts} charts in the page");

        var dom = await DumpDomAsync(chromium!, page);

        var counted = BodyData().Match(dom);
        Assert.True(counted.Success, $"the page's script did not run in Chromium:\n{dom[..Math.Min(dom.Length, 2000)]}");
        Assert.Equal(charts, int.Parse(counted.Groups["charts"].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(charts, int.Parse(counted.Groups["drawn"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0.7, 1)]
    [InlineData(1, 1)]
    [InlineData(1.2, 2)]
    [InlineData(2.1, 2.5)]
    [InlineData(3, 5)]
    [InlineData(730, 1000)]
    public void NiceCeiling_Value_SmallestRoundNumberAtOrAbove(double value, double expected) =>
        Assert.Equal(expected, SvgChart.NiceCeiling(value), 9);

    [Theory]
    [InlineData(0, 0)]
    [InlineData(90, 1)]
    [InlineData(99, 2)]
    [InlineData(99.9, 3)]
    [InlineData(100, 6)]
    public void Nines_Percentile_DistanceToOneHundredInPowersOfTen(double percentile, double expected) =>
        Assert.Equal(expected, HtmlReport.Nines(percentile), 6);

    private async Task<(string Html, JsonDocument Report, string Log)> RunAsync()
    {
        var reportPath = Path.Combine(reports.FullName, "report.json");
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await LoadTestApplication.RunAsync(
            ["fanout", "--targets", fixture.Silo.BaseAddress.ToString(), "--accounts", "3", "--devices", "2", "--concurrency", "2",
             "--duration", "1500ms", "--warmup", "0s", "--interval", "100ms", "--report", reportPath, "--no-live"],
            output,
            error,
            Cancel);
        Assert.True(exitCode == 0, output.ToString() + error);
        Assert.Contains($"html report: {Path.ChangeExtension(reportPath, ".html")}", output.ToString(), StringComparison.Ordinal);
        return (
            await File.ReadAllTextAsync(Path.ChangeExtension(reportPath, ".html"), Cancel),
            JsonDocument.Parse(await File.ReadAllTextAsync(reportPath, Cancel)),
            await File.ReadAllTextAsync(Path.ChangeExtension(reportPath, ".hlog"), Cancel));
    }

    private static async Task<string> DumpDomAsync(string chromium, string page)
    {
        using var profile = new TemporaryDirectory();
        var start = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                $"--user-data-dir={profile.Path}", "--dump-dom", new Uri(page).AbsoluteUri,
            },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Cancel);
        var stderr = process.StandardError.ReadToEndAsync(Cancel);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!Cancel.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"Chromium did not finish within 2 minutes: {await stderr}");
        }

        Assert.True(process.ExitCode == 0, $"Chromium exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists);

    [GeneratedRegex("<svg class=\"chart\"")]
    private static partial Regex ChartTag();

    [GeneratedRegex("<body[^>]*data-charts=\"(?<charts>\\d+)\"[^>]*data-drawn=\"(?<drawn>\\d+)\"")]
    private static partial Regex BodyData();

    private sealed class TemporaryDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("chromium-profile-").FullName;

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
                // Chromium may still be letting go of a file; the temp directory is cleaned by the machine.
            }
        }
    }
}
