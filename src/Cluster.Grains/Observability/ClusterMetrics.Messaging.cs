using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Sends and their retries (MessageSender, OutboxGrain, the receipt sweep).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Sends accepted (one per <c>PUT /v1/messages</c> that answered 200).</summary>
    public static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>("cluster_messages_received_total", description: "Sends accepted");

    /// <summary>Devices one send fanned out to.</summary>
    public static readonly Histogram<int> FanoutWidth = Meter.CreateHistogram<int>(
        "cluster_message_fanout_devices", unit: "{device}", description: "Destination devices per send",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 3, 4, 5, 6, 8, 10] });

    /// <summary>Retried sends answered without a second fan-out (label <c>from</c>: memory or receipt).</summary>
    public static readonly Counter<long> SendRetriesAnswered = Meter.CreateCounter<long>("cluster_send_retries_answered_total", description: "Retried sends (same clientMessageId) answered from a receipt, storing nothing");

    /// <summary>Idempotency receipts deleted by the expiry sweep.</summary>
    public static readonly Counter<long> ReceiptsExpired = Meter.CreateCounter<long>("cluster_send_receipts_expired_total", description: "Idempotency receipts deleted at expiry");
}
