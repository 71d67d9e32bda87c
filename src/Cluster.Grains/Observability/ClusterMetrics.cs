using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>The product's meter. Labels stay low-cardinality: never an account, device or call id.</summary>
public static class ClusterMetrics
{
    /// <summary>The meter name exported at <c>/metrics</c>.</summary>
    public const string MeterName = "Cluster";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Prekey bundles handed out, one per device.</summary>
    public static readonly Counter<long> PreKeyBundles = Meter.CreateCounter<long>("cluster_prekey_bundles_total", description: "Prekey bundles handed out, one per device");

    /// <summary>Bundles handed out without a one-time key of a kind (label <c>kind</c>: ec or kem).</summary>
    public static readonly Counter<long> PreKeysExhausted = Meter.CreateCounter<long>("cluster_prekeys_exhausted_total", description: "Bundles handed out with no one-time key of a kind left");

    /// <summary>Devices whose one-time key count dropped below the keysLow threshold.</summary>
    public static readonly Counter<long> PreKeysLow = Meter.CreateCounter<long>("cluster_prekeys_low_total", description: "Times a device's one-time key count dropped below the keysLow threshold");

    /// <summary>Accounts registered.</summary>
    public static readonly Counter<long> AccountsRegistered = Meter.CreateCounter<long>("cluster_accounts_registered_total", description: "Accounts registered");

    /// <summary>Sends accepted (one per <c>PUT /v1/messages</c> that answered 200).</summary>
    public static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>("cluster_messages_received_total", description: "Sends accepted");

    /// <summary>Devices one send fanned out to.</summary>
    public static readonly Histogram<int> FanoutWidth = Meter.CreateHistogram<int>(
        "cluster_message_fanout_devices", unit: "{device}", description: "Destination devices per send",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 3, 4, 5, 6, 8, 10] });

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

    /// <summary>Retried sends answered without a second fan-out (label <c>from</c>: memory or receipt).</summary>
    public static readonly Counter<long> SendRetriesAnswered = Meter.CreateCounter<long>("cluster_send_retries_answered_total", description: "Retried sends (same clientMessageId) answered from a receipt, storing nothing");

    /// <summary>Idempotency receipts deleted by the expiry sweep.</summary>
    public static readonly Counter<long> ReceiptsExpired = Meter.CreateCounter<long>("cluster_send_receipts_expired_total", description: "Idempotency receipts deleted at expiry");

    /// <summary>Blob uploads refused for the account's quota (label <c>limit</c>: bytes or count).</summary>
    public static readonly Counter<long> BlobQuotaExceeded = Meter.CreateCounter<long>("cluster_blob_quota_exceeded_total", description: "Blob uploads refused because the account's blob quota was reached, by limit");

    /// <summary>Interested accounts forgotten because an account's set was full (<c>Accounts:MaxInterestedAccounts</c>).</summary>
    public static readonly Counter<long> InterestsForgotten = Meter.CreateCounter<long>("cluster_interested_accounts_forgotten_total", description: "Interested accounts forgotten (oldest first) because a set was full");

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

    /// <summary>Device grains active on this silo (a device's grain is active while its device is connected, and for a while after any call).</summary>
    public static readonly ObservableUpDownCounter<long> DeviceGrainsActive = Meter.CreateObservableUpDownCounter(
        "cluster_device_grains_active", () => Interlocked.Read(ref deviceGrainsActive), unit: "{grain}",
        description: "Device grains active on this silo");

    private static long deviceGrainsActive;

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

    /// <summary>The most client connections, HTTP and sockets together, this silo holds (<c>Cluster:MaxConnections</c>, or derived from its open-file limit).</summary>
    public static readonly ObservableGauge<long> ConnectionsMax = Meter.CreateObservableGauge(
        "cluster_connections_max", () => Interlocked.Read(ref connectionsMax), unit: "{connection}", description: "The most client connections this silo holds at once");

    private static long connectionsMax;

    /// <summary>Client connections closed as soon as accepted because the silo held its maximum of connections (<c>Cluster:MaxConnections</c>).</summary>
    /// <remarks>Observed, like <see cref="SocketsRefused"/>.</remarks>
    public static readonly ObservableCounter<long> ConnectionsRefused = Meter.CreateObservableCounter(
        "cluster_connections_refused_total", () => Interlocked.Read(ref connectionsRefused), description: "Client connections closed on accept because the silo held its maximum of connections");

    private static long connectionsRefused;

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

    /// <summary>Silos this silo declared dead itself, by <c>evidence</c>: <see cref="RefusedConnection"/> (its connection dropped and its port refused new ones).</summary>
    public static readonly Counter<long> SilosDeclaredDead = Meter.CreateCounter<long>("cluster_silos_declared_dead_total", description: "Silos this silo declared dead on evidence of its own, by evidence");

    /// <summary>The <c>evidence</c> label of a silo declared dead because its port refused connections.</summary>
    public static readonly KeyValuePair<string, object?> RefusedConnection = new("evidence", "refused_connection");

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

    /// <summary>Device grains that arrived on another silo with their socket attached (moved there to be near it).</summary>
    public static readonly Counter<long> DeviceGrainsMoved = Meter.CreateCounter<long>("cluster_device_grains_moved_total", description: "Device grains that moved to the silo of their socket");

    /// <summary>Link tokens made.</summary>
    public static readonly Counter<long> LinkTokens = Meter.CreateCounter<long>("cluster_link_tokens_total", description: "Link tokens made");

    /// <summary>Link attempts by outcome (label <c>outcome</c>).</summary>
    public static readonly Counter<long> LinkAttempts = Meter.CreateCounter<long>("cluster_link_attempts_total", description: "Companion link attempts by outcome");

    /// <summary>Device-list changes (link, unlink, new signed list).</summary>
    public static readonly Counter<long> DeviceListChanges = Meter.CreateCounter<long>("cluster_device_list_changes_total", description: "Device-list changes");

    /// <summary>Interested accounts told of one device-list change.</summary>
    public static readonly Histogram<int> DeviceListFanout = Meter.CreateHistogram<int>(
        "cluster_device_list_fanout_accounts", unit: "{account}", description: "Interested accounts told of one device-list change",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [0, 1, 10, 100, 1000, 10_000, 100_000] });

    /// <summary>
    /// Requests refused by a rate limit or a per-client cap (429, or 503 for a full hashing queue or provisioning-socket
    /// cap), by <c>limit</c>: the limit's name, as the refusal's body names it (e.g. <c>auth_failures_device</c>).
    /// </summary>
    public static readonly Counter<long> RateLimited = Meter.CreateCounter<long>("cluster_rate_limited_total", description: "Requests refused by a rate limit or a per-client cap, by limit");

    /// <summary>
    /// Requests that failed on the client's side, in the request's framing or the connection rather than in what it asked
    /// (label <c>fault</c>: the status answered, e.g. <c>400</c> for a malformed chunked body, <c>408</c> for a body arriving
    /// too slowly, or <c>aborted</c> for a client gone mid-request).
    /// </summary>
    public static readonly Counter<long> ClientFaults = Meter.CreateCounter<long>("cluster_client_faults_total", description: "Requests that failed on the client's side (framing, slow body, client gone), by fault");

    /// <summary>Counts a connection closed on accept (<see cref="ConnectionsRefused"/>).</summary>
    public static void ConnectionRefused() => Interlocked.Increment(ref connectionsRefused);

    /// <summary>Counts a socket upgrade refused with 503 <c>at_capacity</c> (<see cref="SocketsRefused"/>).</summary>
    public static void SocketRefused() => Interlocked.Increment(ref socketsRefused);

    /// <summary>Sets <see cref="ConnectionsMax"/> (once, when the silo starts).</summary>
    public static void SetConnectionsMax(long value) => Interlocked.Exchange(ref connectionsMax, value);

    /// <summary>Sets <see cref="SocketsMax"/> (once, when the silo starts).</summary>
    public static void SetSocketsMax(long value) => Interlocked.Exchange(ref socketsMax, value);

    /// <summary>Adds to <see cref="SocketOutboundBytes"/> (bytes buffered, or sent or dropped when negative).</summary>
    public static void AddSocketOutboundBytes(long delta) => Interlocked.Add(ref socketOutboundBytes, delta);

    /// <summary>Counts a device grain's activation (+1) or deactivation (-1) in <see cref="DeviceGrainsActive"/>.</summary>
    internal static void AddDeviceGrains(long delta) => Interlocked.Add(ref deviceGrainsActive, delta);

    /// <summary>Moves <see cref="InboxDepth"/> by a device grain's change of its own depth.</summary>
    internal static void AddInboxDepth(long delta) => Interlocked.Add(ref inboxDepth, delta);
}
