using System.Diagnostics;
using System.Globalization;
using Cluster.Testing;

namespace Cluster.Faults.Tests;

/// <summary>
/// One silo as a real, long-running <c>dotnet Cluster.Silo.dll</c> process on fixed ports, so that it can be killed with
/// SIGKILL, stopped with SIGTERM and started again on the same ports (as a restarted pod would be).
/// </summary>
public sealed class ProcessSilo : IAsyncDisposable
{
    private readonly IReadOnlyList<string> args;
    private readonly string logPath;
    private readonly object logLock = new();
    private StreamWriter? log;
    private Process? process;

    public ProcessSilo(int index, string connectionString, string clusterId, string workingDirectory, IReadOnlyDictionary<string, string> settings)
    {
        Index = index;
        HttpPort = FreePorts.Reusable();
        SiloPort = FreePorts.Reusable();
        BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}");
        logPath = Path.Combine(workingDirectory, $"silo-{index}.log");
        var list = new List<string>
        {
            $"--urls={BaseAddress}",
            "--Cluster:Storage=PostgreSql",
            $"--Cluster:ConnectionString={connectionString}",
            $"--Cluster:ClusterId={clusterId}",
            $"--Cluster:SiloPort={SiloPort}",
            "--Cluster:AdvertisedAddress=127.0.0.1",
            "--VerificationSender:AllowDevelopmentInCluster=true",
            "--Verification:MinInterval=00:00:00",
            "--Verification:MaxCodesPerNumber=1000000",
            "--AnonymousLimits:VerificationBurst=1000000",
            "--Auth:PasswordHashIterations=1000",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Orleans=Warning",
            "--Logging:LogLevel:Orleans.Runtime.Silo=Information",
            "--Logging:Console:FormatterOptions:TimestampFormat=HH:mm:ss.fff ",
        };
        // One loopback client drives the whole harness: the per-client and per-sender limits stay out of its reach.
        list.AddRange(TestSilo.UnreachedLimits.Select(s => $"--{s}"));
        list.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        args = list;
        WorkingDirectory = workingDirectory;
    }

    /// <summary>1-based index in its cluster.</summary>
    public int Index { get; }

    public int HttpPort { get; }

    public int SiloPort { get; }

    public Uri BaseAddress { get; }

    public string WorkingDirectory { get; }

    /// <summary>Whether the process runs now.</summary>
    public bool IsRunning => process is { HasExited: false };

    /// <summary>The exit code of the last process, once it has exited.</summary>
    public int? ExitCode => process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>Starts the process (it must not be running).</summary>
    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"silo {Index} runs already");
        }

        process?.Dispose();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = WorkingDirectory,
        };
        start.ArgumentList.Add(SiloProcess.SiloDll());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        // Workstation GC: four processes share two cores with the rest of the test run.
        start.Environment["DOTNET_gcServer"] = "0";
        lock (logLock)
        {
            log ??= new StreamWriter(logPath, append: true) { AutoFlush = true };
            log.WriteLine($"---- start {DateTime.UtcNow:O}");
        }

        var started = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        started.OutputDataReceived += (_, e) => WriteLog(e.Data);
        started.ErrorDataReceived += (_, e) => WriteLog(e.Data);
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        process = started;
    }

    /// <summary>SIGKILL: a crash. Returns at once.</summary>
    public void Kill()
    {
        WriteLog($"---- SIGKILL {DateTime.UtcNow:O}");
        process?.Kill(entireProcessTree: false);
    }

    /// <summary>SIGTERM: a graceful stop (readiness off, drain, sockets closed with 1001, the silo leaves). Returns at once.</summary>
    public Task TerminateAsync() => SignalAsync("TERM");

    /// <summary>SIGSTOP: the process freezes (as in a long GC pause or a starved machine), its ports stay open.</summary>
    public Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT: a frozen process runs again.</summary>
    public Task ThawAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        var pid = process?.Id ?? throw new InvalidOperationException($"silo {Index} was never started");
        WriteLog($"---- SIG{signal} {DateTime.UtcNow:O}");
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { $"-{signal}", pid.ToString(CultureInfo.InvariantCulture) } })
            ?? throw new InvalidOperationException("kill did not start");
        await kill.WaitForExitAsync();
    }

    /// <summary>Waits for the process to exit, failing after <paramref name="timeout"/>.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        if (process is null)
        {
            return;
        }

        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"silo {Index} did not exit within {timeout.TotalSeconds:0}s; log {logPath}:\n{Tail()}");
        }
    }

    /// <summary>The last lines of this silo's log, for failure messages.</summary>
    public string Tail(int lines = 30)
    {
        lock (logLock)
        {
            log?.Flush();
        }

        try
        {
            using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (IsRunning)
        {
            Kill();
            await WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        process?.Dispose();
        lock (logLock)
        {
            log?.Dispose();
            log = null;
        }
    }

    private void WriteLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (logLock)
        {
            log?.WriteLine(line);
        }
    }
}
