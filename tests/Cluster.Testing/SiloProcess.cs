using System.Diagnostics;

namespace Cluster.Testing;

/// <summary>The silo executable, run as a real process (for what only a process shows: exit codes, stderr, signals).</summary>
public static class SiloProcess
{
    /// <summary>Runs <c>dotnet Cluster.Silo.dll args</c> to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(
        IEnumerable<string> args, string? workingDirectory = null, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(SiloDll());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the silo process did not exit within 2 minutes: {string.Join(' ', args)}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The silo's build output: it sits beside the tests (project reference) with its runtime config.</summary>
    public static string SiloDll()
    {
        var local = Path.Combine(AppContext.BaseDirectory, "Cluster.Silo.dll");
        if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "Cluster.Silo.runtimeconfig.json")))
        {
            return local;
        }

        throw new FileNotFoundException($"Cluster.Silo.dll with its runtimeconfig.json not found in {AppContext.BaseDirectory}");
    }
}
