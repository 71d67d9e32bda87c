using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Cluster.LoadTest.Reporting;

/// <summary>Where a run ran: the commit and the machine.</summary>
internal static class RunEnvironment
{
    /// <summary>The commit of the working directory (git), else <c>LOADTEST_GIT_SHA</c> or <c>GIT_SHA</c>, else <c>unknown</c>.</summary>
    public static (string Sha, bool? Dirty) Git()
    {
        var sha = RunGit("rev-parse HEAD");
        if (sha is { Length: 40 })
        {
            return (sha, RunGit("status --porcelain --untracked-files=no") is { } changes ? changes.Length > 0 : null);
        }

        return (Environment.GetEnvironmentVariable("LOADTEST_GIT_SHA") ?? Environment.GetEnvironmentVariable("GIT_SHA") ?? "unknown", null);
    }

    public static MachineInfo Machine(string? loadAverageAtStart) => new(
        Environment.ProcessorCount,
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024), 1),
        loadAverageAtStart,
        LoadAverage());

    /// <summary>The 1, 5 and 15 minute load averages (Linux), or null.</summary>
    public static string? LoadAverage()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ');
            return fields.Length >= 3 ? string.Join(' ', fields[..3]) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? RunGit(string arguments)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (git is null)
            {
                return null;
            }

            var output = git.StandardOutput.ReadToEnd();
            if (!git.WaitForExit(5000) || git.ExitCode != 0)
            {
                return null;
            }

            return output.Trim();
        }
        catch (Win32Exception)
        {
            return null;
        }
    }
}
