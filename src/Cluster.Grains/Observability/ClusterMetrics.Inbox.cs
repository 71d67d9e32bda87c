using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Device inboxes: envelopes stored, delivered, acked, dropped and expired (DeviceGrain.Inbox.cs and .Delivery.cs, the expiry sweep).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Envelopes durably stored in inboxes.</summary>
    public static readonly Counter<long> EnvelopesStored = Meter.CreateCounter<long>("cluster_envelopes_stored_total", description: "Envelopes durably stored in device inboxes");

    /// <summary>Envelopes pushed down a device socket.</summary>
    public static readonly Counter<long> EnvelopesDelivered = Meter.CreateCounter<long>("cluster_envelopes_delivered_total", description: "Envelopes sent to a device socket");

    /// <summary>Envelopes acknowledged (and deleted).</summary>
    public static readonly Counter<long> EnvelopesAcked = Meter.CreateCounter<long>("cluster_envelopes_acked_total", description: "Envelope acknowledgements (each deletes the envelope)");

    /// <summary>Envelopes dropped for a full queue.</summary>
    public static readonly Counter<long> EnvelopesDropped = Meter.CreateCounter<long>("cluster_envelopes_dropped_total", description: "Envelopes dropped because a device queue was full");

    /// <summary>Envelopes deleted undelivered when they expired.</summary>
    public static readonly Counter<long> EnvelopesExpired = Meter.CreateCounter<long>("cluster_envelopes_expired_total", description: "Envelopes deleted undelivered at expiry");

    /// <summary>Acked ids that deleted nothing (not queued: made up, or acked before); they make no room in the queue.</summary>
    public static readonly Counter<long> AcksUnmatched = Meter.CreateCounter<long>("cluster_acks_unmatched_total", description: "Acked envelope ids that matched no queued envelope");

    /// <summary>
    /// From storing an envelope to its ack, for envelopes acked over a socket; label <c>delivery</c> is
    /// <see cref="LiveDelivery"/> (stored while the device was connected) or <see cref="BacklogDelivery"/> (stored
    /// before it connected, so the time includes the time the device was away).
    /// </summary>
    public static readonly Histogram<double> DeliveryLatency = Meter.CreateHistogram<double>(
        "cluster_delivery_latency_seconds", unit: "s", description: "From storing an envelope to its acknowledgement, by delivery (live or backlog)",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600] });

    /// <summary>The <c>delivery</c> label of an envelope stored while its device was connected.</summary>
    public static readonly KeyValuePair<string, object?> LiveDelivery = new("delivery", "live");

    /// <summary>The <c>delivery</c> label of an envelope stored before its device connected.</summary>
    public static readonly KeyValuePair<string, object?> BacklogDelivery = new("delivery", "backlog");

    /// <summary>
    /// Envelopes stored and not yet acked, dropped or purged, summed over the device grains active on this silo (each
    /// counts its inbox from the moment it activates until it deactivates). Envelopes deleted by the expiry sweep stay
    /// counted until their device's grain reactivates.
    /// </summary>
    public static readonly ObservableUpDownCounter<long> InboxDepth = Meter.CreateObservableUpDownCounter(
        "cluster_inbox_depth_envelopes", () => Interlocked.Read(ref inboxDepth), unit: "{envelope}",
        description: "Envelopes waiting in the inboxes of the devices active on this silo");

    private static long inboxDepth;

    /// <summary>Moves <see cref="InboxDepth"/> by a device grain's change of its own depth.</summary>
    internal static void AddInboxDepth(long delta) => Interlocked.Add(ref inboxDepth, delta);
}
