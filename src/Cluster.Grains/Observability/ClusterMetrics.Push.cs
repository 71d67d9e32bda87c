using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Push notifications (the device grains' wake decision and the silo's push queue and senders).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Wake-ups accepted by a push service (label <c>kind</c>).</summary>
    public static readonly Counter<long> PushSent = Meter.CreateCounter<long>("cluster_push_sent_total", description: "Wake-ups accepted by a push service, by kind");

    /// <summary>Wake-ups given up after their attempts (labels <c>kind</c>; <c>reason</c>: transient, rejected).</summary>
    public static readonly Counter<long> PushFailed = Meter.CreateCounter<long>("cluster_push_failed_total", description: "Wake-ups given up after retries, by kind and reason");

    /// <summary>Wake-ups dropped unsent (labels <c>kind</c>; <c>reason</c>: queue_full, gone (the provider says the target is gone; the subscription is removed), blocked_address, kind_unavailable).</summary>
    public static readonly Counter<long> PushDropped = Meter.CreateCounter<long>("cluster_push_dropped_total", description: "Wake-ups dropped unsent, by kind and reason");

    /// <summary>The <c>reason</c> values of <see cref="PushFailed"/> and <see cref="PushDropped"/> (each series is exported at zero from the start).</summary>
    public static readonly string[] PushFailReasons = ["transient", "rejected"];

    /// <inheritdoc cref="PushFailReasons"/>
    public static readonly string[] PushDropReasons = ["queue_full", "kind_unavailable", "gone", "blocked_address"];

    /// <summary>Wake-ups not sent because the device was woken within the coalescing interval (label <c>kind</c>).</summary>
    public static readonly Counter<long> PushCoalesced = Meter.CreateCounter<long>("cluster_push_coalesced_total", description: "Wake-ups coalesced into an earlier one");

    /// <summary>Seconds from queueing a wake-up to the push service's answer (label <c>kind</c>).</summary>
    public static readonly Histogram<double> PushLatency = Meter.CreateHistogram<double>("cluster_push_latency_seconds", unit: "s", description: "Seconds from queueing a wake-up to the push service's answer");
}
