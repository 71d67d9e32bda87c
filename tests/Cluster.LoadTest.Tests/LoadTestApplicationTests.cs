using System.Text.Json;
using Cluster.Testing;

namespace Cluster.LoadTest.Tests;

[Collection(SharedSilo.Name)]
public sealed class LoadTestApplicationTests(SiloFixture fixture) : IDisposable
{
    private readonly DirectoryInfo reports = Directory.CreateTempSubdirectory("loadtest-reports-");

    public void Dispose() => reports.Delete(recursive: true);

    [Fact]
    public async Task Run_SmallFanout_WritesTheReportAndASummaryWithNoLoss()
    {
        var reportPath = Path.Combine(reports.FullName, "report.json");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await LoadTestApplication.RunAsync(
            ["fanout", "--targets", fixture.Silo.BaseAddress.ToString(), "--accounts", "3", "--devices", "2", "--concurrency", "2",
             "--count", "10", "--warmup", "0s", "--report", reportPath, "--no-live", "--max-p99-ms", "60000", "--max-error-rate", "0"],
            output,
            error,
            TestContext.Current.CancellationToken);

        var summary = output.ToString();
        Assert.True(exitCode == 0, summary + error);
        Assert.Contains("lost: 0", summary, StringComparison.Ordinal);
        Assert.Contains("duplicated: 0", summary, StringComparison.Ordinal);
        Assert.Contains("throughput:", summary, StringComparison.Ordinal);
        Assert.Contains("result: PASS", summary, StringComparison.Ordinal);

        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(reportPath, TestContext.Current.CancellationToken));
        var root = report.RootElement;
        Assert.Equal("fanout", root.GetProperty("scenario").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("gitSha").GetString()));
        Assert.Equal(3, root.GetProperty("parameters").GetProperty("accounts").GetInt32());
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("machine").GetProperty("processorCount").GetInt32());
        Assert.Equal(0, root.GetProperty("results").GetProperty("envelopes").GetProperty("lost").GetInt64());
        Assert.True(root.GetProperty("results").GetProperty("latency").GetProperty("deliver").GetProperty("p99").GetDouble() > 0);
        Assert.True(root.GetProperty("verdict").GetProperty("passed").GetBoolean());
    }

    [Fact]
    public async Task Run_ThresholdCannotBeMet_ExitsWithOne()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var reportPath = Path.Combine(reports.FullName, "report.json");

        var exitCode = await LoadTestApplication.RunAsync(
            ["fanout", "--targets", fixture.Silo.BaseAddress.ToString(), "--accounts", "2", "--devices", "1", "--concurrency", "1",
             "--count", "3", "--warmup", "0s", "--report", reportPath, "--no-live", "--max-p99-ms", "0.001"],
            output,
            error,
            TestContext.Current.CancellationToken);

        Assert.Equal(1, exitCode);
        Assert.Contains("over --max-p99-ms", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NoTargetAnswers_FailsSetupWithOne()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var reportPath = Path.Combine(reports.FullName, "report.json");

        var exitCode = await LoadTestApplication.RunAsync(
            ["fanout", "--targets", $"http://127.0.0.1:{FreePorts.Next()}", "--accounts", "2", "--count", "1", "--report", reportPath, "--no-live"],
            output,
            error,
            TestContext.Current.CancellationToken);

        Assert.Equal(1, exitCode);
        Assert.Contains("accounts could not be set up", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WrongArguments_ExitsWithTwoAndTheUsage()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await LoadTestApplication.RunAsync(["fanout", "--rate", "fast"], output, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, exitCode);
        Assert.Contains("--rate", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Usage:", error.ToString(), StringComparison.Ordinal);
    }
}
