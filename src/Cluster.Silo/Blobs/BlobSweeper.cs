using Cluster.Grains;
using Cluster.Persistence.Blobs;

namespace Cluster.Silo.Blobs;

/// <summary>Deletes expired and abandoned blobs on a fixed interval; every silo sweeps, which is harmless (deletes are idempotent).</summary>
internal sealed partial class BlobSweeper(
    IBlobStore store,
    IOptions<BlobOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<BlobSweeper> logger) : BackgroundService
{
    // Blobs are large: a small batch keeps each delete (one SQLite write transaction) short.
    private const int BatchSize = 32;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.SweepInterval, time, stoppingToken);
                await SweepAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (System.Data.Common.DbException ex)
            {
                LogSweepFailed(ex);
            }
        }
    }

    /// <summary>Deletes everything expired now, in batches; returns how many blobs went.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await store.DeleteExpiredAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), BatchSize, cancellationToken);
            total += deleted;
        }
        while (deleted == BatchSize);
        if (total > 0)
        {
            LogSwept(total);
        }

        return total;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting expired blobs failed; retrying at the next sweep")]
    private partial void LogSweepFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted {Count} expired blobs")]
    private partial void LogSwept(int count);
}
