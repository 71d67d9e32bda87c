using System.Diagnostics;

namespace Cluster.Bench;

/// <summary>What one scenario measured.</summary>
/// <param name="Rate">Units per second over the measured window.</param>
/// <param name="Unit">What a unit is, e.g. "rows/s".</param>
/// <param name="P50Ms">Median latency of one operation, ms.</param>
/// <param name="P99Ms">99th percentile latency of one operation, ms.</param>
/// <param name="CpuMicrosecondsPerUnit">CPU time of this process per unit (all threads), µs.</param>
/// <param name="RowsPerCommit">Average rows per inbox commit, when the scenario used the inbox.</param>
internal sealed record Measurement(double Rate, string Unit, double P50Ms, double P99Ms, double CpuMicrosecondsPerUnit, double? RowsPerCommit);

/// <summary>
/// Runs an operation in a closed loop on N concurrent workers for warm-up plus duration, and measures the window after
/// the warm-up: units done, latency percentiles and this process's CPU time.
/// </summary>
internal static class Load
{
    /// <summary>Runs <paramref name="operation"/> on <paramref name="concurrency"/> workers, each awaiting one before starting the next.</summary>
    public static async Task<Measurement> RunAsync(
        int concurrency,
        TimeSpan warmup,
        TimeSpan duration,
        string unit,
        Func<int, ValueTask<int>> operation,
        CommitStats? commits = null)
    {
        var units = new long[concurrency * 16]; // padded: one cache line per worker
        var latencies = new List<long>[concurrency];
        var measuring = 0;
        var stop = 0;

        async Task WorkerAsync(int worker)
        {
            await Task.Yield();
            var samples = latencies[worker] = new List<long>(1 << 14);
            while (Volatile.Read(ref stop) == 0)
            {
                var started = Stopwatch.GetTimestamp();
                var done = await operation(worker);
                if (Volatile.Read(ref measuring) == 1)
                {
                    samples.Add(Stopwatch.GetTimestamp() - started);
                    units[worker * 16] += done;
                }
            }
        }

        var workers = Enumerable.Range(0, concurrency).Select(WorkerAsync).ToArray();
        await Task.Delay(warmup);

        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpuStart = process.TotalProcessorTime;
        var commitsStart = commits?.Snapshot();
        var wallStart = Stopwatch.GetTimestamp();
        Volatile.Write(ref measuring, 1);

        await Task.Delay(duration);

        Volatile.Write(ref measuring, 0);
        var elapsed = Stopwatch.GetElapsedTime(wallStart);
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuStart;
        var commitsEnd = commits?.Snapshot();
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(workers);

        long total = 0;
        for (var i = 0; i < concurrency; i++)
        {
            total += units[i * 16];
        }

        var all = latencies.SelectMany(list => list).Order().ToArray();
        double Percentile(double p) => all.Length == 0
            ? 0
            : all[Math.Min(all.Length - 1, (int)(p * all.Length))] * 1000.0 / Stopwatch.Frequency;

        double? rowsPerCommit = commitsStart is { } a && commitsEnd is { } b && b.Commits > a.Commits
            ? (double)(b.Rows - a.Rows) / (b.Commits - a.Commits)
            : null;
        return new Measurement(
            total / elapsed.TotalSeconds,
            unit,
            Percentile(0.50),
            Percentile(0.99),
            total == 0 ? 0 : cpu.TotalMicroseconds / total,
            rowsPerCommit);
    }
}
