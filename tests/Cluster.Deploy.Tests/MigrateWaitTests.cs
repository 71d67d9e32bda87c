using System.Diagnostics;
using Cluster.Testing;

namespace Cluster.Deploy.Tests;

/// <summary>
/// <c>Cluster.Silo migrate --wait</c>, the silo pods' init container: it holds until the migration Job has run, changes
/// nothing itself, and keeps waiting through a database that does not answer yet.
/// </summary>
public sealed class MigrateWaitTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Wait_FreshDatabase_ReturnsOnlyAfterMigrate()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        string[] settings = ["--Cluster:Storage=PostgreSql", $"--Cluster:ConnectionString={database.ConnectionString}"];
        using var waiter = WaitingProcess.Start(["migrate", "--wait", .. settings]);

        await waiter.OutputLine(l => l.StartsWith("waiting for migrations 0001", StringComparison.Ordinal), Cancel);
        Assert.False(waiter.Process.HasExited, "migrate --wait must not return before the schema is there");
        var migrate = await SiloProcess.RunAsync(["migrate", .. settings], cancellationToken: Cancel);
        Assert.True(migrate.ExitCode == 0, migrate.StandardError);

        await waiter.OutputLine(l => l == "schema current", Cancel);
        await waiter.Process.WaitForExitAsync(Cancel).WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        Assert.Equal(0, waiter.Process.ExitCode);
    }

    [Fact]
    public async Task Wait_DatabaseDown_KeepsWaitingWithoutPrintingThePassword()
    {
        var port = FreePorts.Next();
        using var waiter = WaitingProcess.Start(
            ["migrate", "--wait", "--Cluster:Storage=PostgreSql", $"--Cluster:ConnectionString=Host=127.0.0.1;Port={port};Username=u;Password=hunter2;Timeout=2"]);

        var line = await waiter.OutputLine(l => l.StartsWith("waiting for the database", StringComparison.Ordinal), Cancel);

        Assert.False(waiter.Process.HasExited, "migrate --wait must keep waiting while the database does not answer");
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    /// <summary>The silo process in the background, its output lines observable as they come.</summary>
    private sealed class WaitingProcess : IDisposable
    {
        private readonly List<string> lines = [];
        private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> watches = [];

        private WaitingProcess(Process process) => Process = process;

        public Process Process { get; }

        public static WaitingProcess Start(IEnumerable<string> args)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            start.ArgumentList.Add(SiloProcess.SiloDll());
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            var process = new Process { StartInfo = start };
            var waiting = new WaitingProcess(process);
            process.OutputDataReceived += (_, e) => waiting.Add(e.Data);
            process.ErrorDataReceived += (_, e) => waiting.Add(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return waiting;
        }

        /// <summary>The first line (already printed or still to come) that <paramref name="match"/> accepts.</summary>
        public async Task<string> OutputLine(Func<string, bool> match, CancellationToken cancellationToken)
        {
            var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (lines)
            {
                if (lines.FirstOrDefault(match) is { } line)
                {
                    return line;
                }

                watches.Add((match, seen));
            }

            try
            {
                return await seen.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            }
            catch (TimeoutException)
            {
                lock (lines)
                {
                    throw new TimeoutException($"the expected line did not come within 60 s; the process printed:\n{string.Join('\n', lines)}");
                }
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }

            Process.Dispose();
        }

        private void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (lines)
            {
                lines.Add(line);
                foreach (var watch in watches.Where(w => w.Match(line)).ToList())
                {
                    watches.Remove(watch);
                    watch.Seen.TrySetResult(line);
                }
            }
        }
    }
}
