namespace Cluster.Silo.Hosting;

/// <summary>
/// Deletes expired rows on a fixed interval of the product clock, in batches until a batch comes back short.
/// Every silo sweeps, which is harmless: the deletes are idempotent. A database error is logged and the sweep is
/// tried again at the next interval.
/// </summary>
internal abstract partial class PeriodicSweeper(TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>What is swept, for the log.</summary>
    protected abstract string What { get; }

    protected abstract TimeSpan Interval { get; }

    protected abstract int BatchSize { get; }

    /// <summary>Deletes up to <paramref name="limit"/> rows that expired before <paramref name="now"/>; returns how many went.</summary>
    protected abstract Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, time, stoppingToken);
                await SweepAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (System.Data.Common.DbException ex)
            {
                LogSweepFailed(What, ex);
            }
        }
    }

    /// <summary>Deletes everything expired now, in batches; returns how many rows went.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await DeleteExpiredAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), BatchSize, cancellationToken);
            total += deleted;
        }
        while (deleted == BatchSize);
        if (total > 0)
        {
            LogSwept(total, What);
        }

        return total;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting expired {What} failed; retrying at the next sweep")]
    private partial void LogSweepFailed(string what, Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted {Count} expired {What}")]
    private partial void LogSwept(int count, string what);
}
