using Cluster.Grains;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;
using Cluster.Silo.Hosting;

namespace Cluster.Silo.Groups;

/// <summary>
/// Deletes group bodies that expired, or that were sealed and have no inbox row any more (a silo stopped between the
/// last row's delete and the body's), at the inbox's sweep interval (<see cref="MessagingOptions.ExpirySweepInterval"/>).
/// Owns nothing; touches <see cref="IGroupBodyStore"/> only.
/// </summary>
internal sealed class GroupBodySweeper(
    IGroupBodyStore store,
    IOptions<MessagingOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<GroupBodySweeper> logger) : PeriodicSweeper(time, logger)
{
    protected override string What => "group bodies";

    protected override TimeSpan Interval => options.Value.ExpirySweepInterval;

    protected override int BatchSize => 10_000;

    protected override async Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteExpiredBodiesAsync(now, limit, cancellationToken);
        ClusterMetrics.GroupBodiesSwept.Add(deleted);
        return deleted;
    }
}
