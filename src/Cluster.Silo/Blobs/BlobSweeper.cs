using Cluster.Grains;
using Cluster.Persistence.Blobs;
using Cluster.Silo.Hosting;

namespace Cluster.Silo.Blobs;

/// <summary>Deletes expired and abandoned blobs.</summary>
internal sealed class BlobSweeper(
    IBlobStore store,
    IOptions<BlobOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<BlobSweeper> logger) : PeriodicSweeper(time, logger)
{
    protected override string What => "blobs";

    protected override TimeSpan Interval => options.Value.SweepInterval;

    // Blobs are large: a small batch keeps each delete (one SQLite write transaction) short.
    protected override int BatchSize => 32;

    protected override Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken) =>
        store.DeleteExpiredAsync(now, limit, cancellationToken);
}
