using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Device sockets (the silo's Messaging/ socket code, DeviceGrain.Delivery.cs).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Device sockets open on this silo.</summary>
    public static readonly UpDownCounter<long> SocketsOpen = Meter.CreateUpDownCounter<long>("cluster_sockets_open", unit: "{socket}", description: "Device sockets open on this silo");

    /// <summary>The most device sockets this silo takes (<c>Cluster:MaxSockets</c>, or derived from its open-file limit).</summary>
    public static readonly ObservableGauge<long> SocketsMax = Meter.CreateObservableGauge(
        "cluster_sockets_max", () => Interlocked.Read(ref socketsMax), unit: "{socket}", description: "The most device sockets this silo takes at once");

    private static long socketsMax;

    /// <summary>Socket upgrades refused because the silo held its maximum of sockets (<c>Cluster:MaxSockets</c>).</summary>
    /// <remarks>Observed rather than added to, so that it is exported at 0 from the start and alerts have a series before the first refusal.</remarks>
    public static readonly ObservableCounter<long> SocketsRefused = Meter.CreateObservableCounter(
        "cluster_sockets_refused_total", () => Interlocked.Read(ref socketsRefused), description: "Device socket upgrades refused because the silo held its maximum of sockets");

    private static long socketsRefused;

    /// <summary>Sockets closed because the same device connected again (4409).</summary>
    public static readonly Counter<long> SocketsReplaced = Meter.CreateCounter<long>("cluster_sockets_replaced_total", description: "Sockets closed with 4409 because the device connected again");

    /// <summary>
    /// Sockets attached again to their device grain without the client reconnecting, by <c>cause</c>:
    /// <see cref="GrainDeactivated"/> (the grain said so as it deactivated), <see cref="GrainLost"/> (a check found a
    /// grain that no longer knew the socket: its silo died) or <see cref="AckFailed"/>.
    /// </summary>
    public static readonly Counter<long> SocketsReattached = Meter.CreateCounter<long>("cluster_sockets_reattached_total", description: "Device sockets attached again to a reactivated device grain, by cause");

    /// <summary>The <c>cause</c> label of a re-attach the deactivating grain asked for.</summary>
    public static readonly KeyValuePair<string, object?> GrainDeactivated = new("cause", "grain_deactivated");

    /// <summary>The <c>cause</c> label of a re-attach after an ack failed (the grain's silo died, or the database is down).</summary>
    public static readonly KeyValuePair<string, object?> AckFailed = new("cause", "ack_failed");

    /// <summary>The <c>cause</c> label of a re-attach after a check found the grain without the socket.</summary>
    public static readonly KeyValuePair<string, object?> GrainLost = new("cause", "grain_lost");

    /// <summary>Socket attaches refused (and the socket closed with 4401): the device was removed, or the socket authenticated as an earlier device under a reused id.</summary>
    public static readonly Counter<long> SocketAttachesRefused = Meter.CreateCounter<long>("cluster_socket_attaches_refused_total", description: "Device socket attaches refused because the device was removed or its id reused");

    /// <summary>Socket acks ignored because the socket was not the device's attached one (replaced, removed, or not attached yet).</summary>
    public static readonly Counter<long> SocketAcksRefused = Meter.CreateCounter<long>("cluster_socket_acks_refused_total", description: "Device socket acks ignored because the socket was not the attached one");

    /// <summary>Frames a device socket dropped because the device did not read fast enough (label <c>kind</c>: envelope for ephemeral envelopes, event).</summary>
    public static readonly Counter<long> SocketFramesDropped = Meter.CreateCounter<long>("cluster_socket_frames_dropped_total", description: "Best-effort frames dropped because a device socket's outbound buffer was full, by kind");

    /// <summary>Sockets closed with 4408 because their device did not read fast enough.</summary>
    public static readonly Counter<long> SocketsClosedSlow = Meter.CreateCounter<long>("cluster_sockets_closed_slow_total", description: "Device sockets closed with 4408 because the device did not read fast enough");

    /// <summary>Sockets the server closed whose client did not finish the close handshake in time: the connection was dropped.</summary>
    public static readonly Counter<long> SocketsAborted = Meter.CreateCounter<long>("cluster_sockets_aborted_total", description: "Device sockets whose connection was dropped because the client did not answer the close in time");

    /// <summary>Bytes waiting in the outbound buffers of this silo's device sockets.</summary>
    public static readonly ObservableUpDownCounter<long> SocketOutboundBytes = Meter.CreateObservableUpDownCounter(
        "cluster_socket_outbound_bytes", () => Interlocked.Read(ref socketOutboundBytes), unit: "By",
        description: "Bytes waiting in the outbound buffers of this silo's device sockets");

    private static long socketOutboundBytes;

    /// <summary>Counts a socket upgrade refused with 503 <c>at_capacity</c> (<see cref="SocketsRefused"/>).</summary>
    public static void SocketRefused() => Interlocked.Increment(ref socketsRefused);

    /// <summary>Sets <see cref="SocketsMax"/> (once, when the silo starts).</summary>
    public static void SetSocketsMax(long value) => Interlocked.Exchange(ref socketsMax, value);

    /// <summary>Adds to <see cref="SocketOutboundBytes"/> (bytes buffered, or sent or dropped when negative).</summary>
    public static void AddSocketOutboundBytes(long delta) => Interlocked.Add(ref socketOutboundBytes, delta);
}
