using System.Diagnostics;
using System.Text;

namespace Cluster.Testing;

/// <summary>
/// Runs a request a test expects the silo to answer, and when it does not within the allowed time, fails with what
/// would explain the stall instead of a bare timeout: the thread pool's state, whether the silo answers a fresh
/// connection's liveness probe at all, and every entry <see cref="LogCapture"/> kept.
/// </summary>
public static class StallReport
{
    /// <summary>The result of <paramref name="request"/>, or a failure describing the silo when it took longer than <paramref name="within"/>.</summary>
    public static async Task<T> WithinAsync<T>(TestSilo silo, LogCapture? logs, TimeSpan within, Func<CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(within);
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await request(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(await DescribeAsync(silo, logs, Stopwatch.GetElapsedTime(started), cancellationToken));
        }
    }

    private static async Task<string> DescribeAsync(TestSilo silo, LogCapture? logs, TimeSpan waited, CancellationToken cancellationToken)
    {
        var report = new StringBuilder();
        report.Append("no answer after ").Append(waited.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)).AppendLine(" s");
        report.Append("thread pool: ").Append(ThreadPool.ThreadCount).Append(" threads, ")
            .Append(ThreadPool.PendingWorkItemCount).Append(" work items pending, ")
            .Append(ThreadPool.CompletedWorkItemCount).AppendLine(" completed");

        var probe = Stopwatch.GetTimestamp();
        try
        {
            using var fresh = new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            using var answer = await fresh.GetAsync("/health/live", cancellationToken);
            report.Append("a fresh connection's GET /health/live: ").Append((int)answer.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            report.Append("a fresh connection's GET /health/live: ").Append(e.GetType().Name).Append(": ").Append(e.Message);
        }

        report.Append(" after ").Append(Stopwatch.GetElapsedTime(probe).TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)).AppendLine(" ms");
        if (logs is not null)
        {
            var entries = logs.Entries;
            report.Append(entries.Count).Append(" log entries at ").Append(logs.MinimumLevel).AppendLine(" or above:");
            foreach (var entry in entries)
            {
                report.Append("  ").AppendLine(entry.ToString());
            }
        }

        return report.ToString();
    }
}
