using System.Text.Json;
using Cluster.LoadTest.CommandLine;
using Cluster.LoadTest.Progress;
using Cluster.LoadTest.Reporting;

namespace Cluster.LoadTest;

/// <summary>The command line: parses it, runs the scenario with live progress, writes the JSON report and the summary.</summary>
internal static class LoadTestApplication
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (args is ["table", .. var reports])
        {
            return await MarkdownTable.RunAsync(reports, output, error, cancellationToken);
        }

        LoadTestOptions options;
        try
        {
            options = LoadTestOptions.Parse(args);
        }
        catch (UsageException ex)
        {
            if (ex.Problem is null)
            {
                await output.WriteLineAsync(LoadTestOptions.Usage);
                return Judge.Passed;
            }

            await error.WriteLineAsync($"error: {ex.Problem}\n");
            await error.WriteLineAsync(LoadTestOptions.Usage);
            return Judge.Usage;
        }

        LoadTestReport report;
        try
        {
            report = await LoadTestRun.RunAsync(options, ProgressView.Create(options.Live, error).RunAsync, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("interrupted");
            return Judge.Interrupted;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug of the tool, or a target that answers what no version of the protocol does: no report to write.
            await error.WriteLineAsync($"error: the run stopped: {ex}");
            return Judge.Failed;
        }

        var path = options.ReportPath
            ?? Path.Combine("loadtest-reports", $"{report.Scenario}-{report.StartedAt.UtcDateTime:yyyyMMdd-HHmmss}.json");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, ReportJson.Default.LoadTestReport), cancellationToken);
        var html = Path.ChangeExtension(path, ".html");
        await File.WriteAllTextAsync(html, HtmlReport.Render(report), cancellationToken);
        await File.WriteAllTextAsync(Path.ChangeExtension(path, ".hlog"), report.IntervalLog ?? "", cancellationToken);
        Summary.Write(output, report, Path.GetFullPath(path));
        await output.WriteLineAsync($"html report: {Path.GetFullPath(html)} (interval log: {Path.GetFullPath(Path.ChangeExtension(path, ".hlog"))})");
        return report.Verdict.ExitCode;
    }
}
