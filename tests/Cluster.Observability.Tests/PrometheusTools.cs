using System.Diagnostics;

namespace Cluster.Observability.Tests;

/// <summary>
/// Debian's <c>prometheus</c> package: the <c>prometheus</c> server and <c>promtool</c>, found on PATH. Tests that need
/// them report themselves skipped, with the reason, when they are absent (<c>.ci/run</c> installs the package).
/// </summary>
internal static class PrometheusTools
{
    public static string? Prometheus { get; } = Find("prometheus");

    public static string? Promtool { get; } = Find("promtool");

    /// <summary>The promtool binary, or the test is skipped.</summary>
    public static string RequirePromtool() => Promtool ?? throw SkipFor("promtool");

    /// <summary>The prometheus binary, or the test is skipped.</summary>
    public static string RequirePrometheus() => Prometheus ?? throw SkipFor("prometheus");

    /// <summary>Runs promtool with <paramref name="arguments"/> (and <paramref name="stdin"/> as its input) in <paramref name="workingDirectory"/>.</summary>
    public static async Task<ToolResult> PromtoolAsync(IEnumerable<string> arguments, string? stdin = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(RequirePromtool())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repository.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("promtool did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"promtool {string.Join(' ', start.ArgumentList)} did not finish within 60 s");
        }

        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }

    private static UnreachableException SkipFor(string binary)
    {
        Assert.Skip($"Debian's prometheus package is not installed (apt-get install prometheus): no {binary} on PATH");
        return new UnreachableException();
    }

    private static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>What a tool run printed and how it exited.</summary>
internal sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit code {ExitCode}\n{Stdout}\n{Stderr}".TrimEnd();
}
