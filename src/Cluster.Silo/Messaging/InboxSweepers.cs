using Cluster.Grains;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;
using Cluster.Silo.Hosting;

namespace Cluster.Silo.Messaging;

/// <summary>Deletes expired envelopes from every inbox.</summary>
internal sealed class ExpirySweeper(
    IInboxStore store,
    IOptions<MessagingOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<ExpirySweeper> logger) : PeriodicSweeper(time, logger)
{
    protected override string What => "envelopes";

    protected override TimeSpan Interval => options.Value.ExpirySweepInterval;

    protected override int BatchSize => 10_000;

    protected override async Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteExpiredAsync(now, limit, cancellationToken);
        ClusterMetrics.EnvelopesExpired.Add(deleted);
        return deleted;
    }
}

/// <summary>Deletes idempotency receipts past their window (<see cref="MessagingOptions.IdempotencyWindow"/>).</summary>
internal sealed class ReceiptSweeper(
    ISendReceiptStore store,
    IOptions<MessagingOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<ReceiptSweeper> logger) : PeriodicSweeper(time, logger)
{
    protected override string What => "idempotency receipts";

    protected override TimeSpan Interval => options.Value.ExpirySweepInterval;

    protected override int BatchSize => 10_000;

    protected override async Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteExpiredReceiptsAsync(now, limit, cancellationToken);
        ClusterMetrics.ReceiptsExpired.Add(deleted);
        return deleted;
    }
}
