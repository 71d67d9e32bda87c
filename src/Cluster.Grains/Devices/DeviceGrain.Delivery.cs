using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;

namespace Cluster.Grains.Devices;

/// <summary>
/// Delivery to the socket, which gets the stored backlog in order, then <c>queueEmpty</c>, then new envelopes as they
/// commit, with at most <see cref="MessagingOptions.MaxUnacked"/> (and about <see cref="MessagingOptions.MaxUnackedBytes"/>)
/// unacknowledged. Only a socket authenticated as the device's current incarnation attaches, and only the attached
/// socket acks (DeviceGrain.Inbox.cs). The grain moves to its socket's silo (migration) and takes the socket along.
/// </summary>
internal sealed partial class DeviceGrain
{
    /// <summary>Committed envelopes kept in memory for a connected device, so that a push needs no read.</summary>
    private const int MaxReadyInMemory = 1024;

    private static readonly IReadOnlyList<DeviceFrame> QueueEmptyFrame = [new DeviceFrame(FrameKind.QueueEmpty, null)];

    private const string AttachedSocketKey = "cluster.attached-socket";

    // Committed rows kept in memory for the pump, by sequence: filled by EnqueueAsync while a socket is attached, drained by PumpOnceAsync, cleared on attach, disconnect and removal.
    private readonly SortedDictionary<long, InboxRow> ready = [];

    // Envelopes sent to the attached socket and not yet acked, by id: added by Push, removed by AckAsync, emptied by ClearUnacked.
    private readonly Dictionary<Guid, Unacked> unacked = [];

    // The JSON bytes of the envelopes in unacked, bounded by MessagingOptions.MaxUnackedBytes: changed with unacked.
    private long unackedBytes;

    // The attached socket, or null: set by ConnectAsync and OnRehydrate, cleared by DisconnectAsync, RemoveAsync and an attach that fails in OnActivateAsync.
    private IDeviceConnection? connection;

    // The id of the attached socket (acks and pings name it): set with connection.
    private Guid connectionId;

    // When the socket attached (Unix ms), which tells live from backlog deliveries in the latency metric: set with connection.
    private long connectedAt;

    // When the attached socket was accepted by its silo (UTC ticks): orders attach calls that arrive out of order; set with connection.
    private long attachedAcceptedAt;

    // The highest sequence sent to the attached socket (or known acked, dropped or expired): reset by AttachAsync, advanced by Push and PumpOnceAsync.
    private long sentThrough;

    // The last sequence handed out when the socket attached: queueEmpty follows it; set by AttachAsync.
    private long backlogEnd;

    // Whether queueEmpty has gone out on this attachment: cleared by AttachAsync, set by the pump.
    private bool queueEmptySent;

    // A PumpAsync loop is running: set and cleared by PumpAsync only.
    private bool pumping;

    // A call came while the pump ran, so it goes round once more: set by PumpAsync, cleared by its loop.
    private bool pumpAgain;

    // The grain is moving to its socket's silo, so nothing more is pushed from this activation: set by ConnectAsync, never cleared (the activation ends).
    private bool moving;

    public Task DeliverEphemeralAsync(byte[] envelopeJson)
    {
        connection?.SendAsync([new DeviceFrame(FrameKind.Envelope, envelopeJson, Droppable: true)]);
        return Task.CompletedTask;
    }

    public Task PublishEventAsync(byte[] eventJson)
    {
        PushEvent(eventJson);
        return Task.CompletedTask;
    }

    public Task<bool> TryPublishEventAsync(byte[] eventJson)
    {
        PushEvent(eventJson);
        return Task.FromResult(connection is not null);
    }

    public async Task<SocketAttachment> ConnectAsync(IDeviceConnection newConnection, Guid newConnectionId, long acceptedAt, Guid incarnation)
    {
        await EnsureInboxLoadedAsync();

        // Checked after the last await, so that a removal that interleaves (the grain is reentrant) is seen.
        if (inboxState.State.Removed || inboxState.State.Incarnation != incarnation)
        {
            // The socket authenticated as a device that is gone: removed, or an earlier device under a reused id.
            _ = newConnection.CloseAsync(4401, "device removed");
            ClusterMetrics.SocketAttachesRefused.Add(1);
            return SocketAttachment.Refused;
        }

        if (connection is not null && connectionId != newConnectionId)
        {
            if (acceptedAt < attachedAcceptedAt)
            {
                // An older socket's attach arrived after a newer one's (its silo was slow, or its first attach timed out
                // and the device has reconnected since): the newer socket stays, the older one is the one to close.
                _ = newConnection.CloseAsync(4409, "connected elsewhere");
                ClusterMetrics.SocketsReplaced.Add(1);
                return SocketAttachment.Replaced;
            }

            _ = connection.CloseAsync(4409, "connected elsewhere");
            ClusterMetrics.SocketsReplaced.Add(1);
        }

        connection = newConnection;
        ResetWakeCoalescing();
        connectionId = newConnectionId;
        attachedAcceptedAt = acceptedAt;
        connectedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (ShouldMoveToSocket())
        {
            // The socket is attached on arrival (OnActivateAsync there), so that all of its frames come from one
            // activation, in order; until then this one pushes nothing, and calls that arrive wait and follow the grain.
            moving = true;
            MigrateOnIdle();
            return SocketAttachment.Attached;
        }

        await AttachAsync();
        return SocketAttachment.Attached;
    }

    /// <summary>Starts delivery to the attached socket: every stored envelope from the oldest, then queueEmpty, then live ones.</summary>
    private async Task AttachAsync()
    {
        ClearUnacked();
        ready.Clear();
        sentThrough = 0;
        backlogEnd = lastSequence;
        queueEmptySent = false;

        if (inboxState.State.DroppedSinceConnected > 0)
        {
            // Not droppable: the count is forgotten once sent.
            connection?.SendAsync([new DeviceFrame(FrameKind.Event, EventJson.QueueOverflow(inboxState.State.DroppedSinceConnected))]);
            inboxState.State.DroppedSinceConnected = 0;
            await inboxState.WriteStateAsync();
        }

        await PumpAsync();
    }

    public Task<SocketAttachment> PingAsync(Guid id) => Task.FromResult(Attachment(id));

    private SocketAttachment Attachment(Guid id) =>
        connection is null ? SocketAttachment.Detached
        : connectionId == id ? SocketAttachment.Attached
        : SocketAttachment.Replaced;

    public Task DisconnectAsync(Guid id)
    {
        if (connection is not null && connectionId == id)
        {
            connection = null;
            ClearUnacked();
            ready.Clear();
        }

        return Task.CompletedTask;
    }

    void IGrainMigrationParticipant.OnDehydrate(IDehydrationContext dehydrationContext)
    {
        // Only the socket moves; the inbox is reloaded from the table and delivery starts over from the oldest stored
        // envelope, as on any attach (the device deduplicates by envelope id what it had already been sent).
        if (connection is { } socket)
        {
            dehydrationContext.TryAddValue(AttachedSocketKey, new AttachedSocket(socket, connectionId, connectedAt, attachedAcceptedAt));
        }
    }

    void IGrainMigrationParticipant.OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue(AttachedSocketKey, out AttachedSocket? socket) && socket is not null)
        {
            (connection, connectionId, connectedAt, attachedAcceptedAt) = (socket.Connection, socket.ConnectionId, socket.ConnectedAt, socket.AcceptedAt);
        }
    }

    /// <summary>
    /// Whether the socket attaching now is on another silo that this grain should move to: the attach call names its
    /// silo (<see cref="SocketPlacement"/>), and this silo knows that one as an active silo that can host grains (it is
    /// in the cluster manifest), so that placement will pick it rather than fall back.
    /// </summary>
    private bool ShouldMoveToSocket() =>
        SocketPlacement.CurrentSocketSilo is { } socketSilo
        && !socketSilo.Equals(GrainContext.Address.SiloAddress)
        && clusterManifest.Current.Silos.ContainsKey(socketSilo);

    // Live events are droppable: a device whose socket cannot keep up misses them as if it were not connected.
    private void PushEvent(byte[] eventJson) => connection?.SendAsync([new DeviceFrame(FrameKind.Event, eventJson, Droppable: true)]);

    private void ClearUnacked()
    {
        unacked.Clear();
        unackedBytes = 0;
    }

    /// <summary>Whether the device may be sent another envelope now: under both unacked windows (count and bytes).</summary>
    private bool UnderWindow() => unacked.Count < messaging.Value.MaxUnacked && unackedBytes < messaging.Value.MaxUnackedBytes;

    /// <summary>
    /// Sends what may be sent now: the next envelopes in sequence order, from memory when they are there, else from the
    /// table, never past a sequence that is still being committed, and never more than the unacked window.
    /// Runs one at a time; a call that finds it running asks it to go round once more.
    /// </summary>
    private async Task PumpAsync()
    {
        if (pumping)
        {
            pumpAgain = true;
            return;
        }

        pumping = true;
        try
        {
            do
            {
                pumpAgain = false;
                await PumpOnceAsync();
            }
            while (pumpAgain);
        }
        finally
        {
            pumping = false;
        }
    }

    private async Task PumpOnceAsync()
    {
        var window = messaging.Value.MaxUnacked;
        while (!moving && connection is { } target && UnderWindow())
        {
            var committed = uncommitted.Count > 0 ? uncommitted.Min - 1 : lastSequence;
            var frames = new List<DeviceFrame>();
            while (UnderWindow() && ready.Count > 0)
            {
                var (sequence, row) = ready.First();
                if (sequence <= sentThrough)
                {
                    ready.Remove(sequence);
                }
                else if (sequence == sentThrough + 1 && sequence <= committed)
                {
                    ready.Remove(sequence);
                    Push(frames, row);
                }
                else
                {
                    break;
                }
            }

            if (frames.Count == 0 && sentThrough < committed && UnderWindow())
            {
                var full = false;
                var wanted = window - unacked.Count;
                var rows = await store.ReadAsync(Address, sentThrough, wanted, time.GetUtcNow().ToUnixTimeMilliseconds());
                if (connection != target)
                {
                    return;
                }

                foreach (var row in rows)
                {
                    if (row.Sequence > committed)
                    {
                        break;
                    }

                    if (!UnderWindow())
                    {
                        full = true;
                        break;
                    }

                    if (row.Sequence > sentThrough && !unacked.ContainsKey(row.Id))
                    {
                        Push(frames, row);
                    }
                }

                if (rows.Count < wanted && !full)
                {
                    // Everything up to the committed sequence has been read: what is missing was acked, dropped or expired.
                    sentThrough = Math.Max(sentThrough, committed);
                }
            }

            if (!queueEmptySent && sentThrough >= backlogEnd)
            {
                queueEmptySent = true;
                frames.Add(QueueEmptyFrame[0]);
            }

            if (frames.Count == 0)
            {
                return;
            }

            _ = target.SendAsync(frames);
        }
    }

    private void Push(List<DeviceFrame> frames, InboxRow row)
    {
        if (!queueEmptySent && row.Sequence > backlogEnd)
        {
            // Everything stored before the connection has gone out: say so before the first newer envelope.
            queueEmptySent = true;
            frames.Add(QueueEmptyFrame[0]);
        }

        frames.Add(new DeviceFrame(FrameKind.Envelope, row.Envelope));
        unacked[row.Id] = new Unacked(row.ExpiresAt - (long)messaging.Value.InboxTimeToLive.TotalMilliseconds, row.Envelope.Length);
        unackedBytes += row.Envelope.Length;
        sentThrough = row.Sequence;
        ClusterMetrics.EnvelopesDelivered.Add(1);
    }
}

/// <summary>An envelope sent and not yet acked: when it was stored (Unix ms) and the size of its JSON.</summary>
internal readonly record struct Unacked(long StoredAt, int Bytes);

/// <summary>A device grain's attached socket, carried along when the grain migrates.</summary>
[GenerateSerializer, Immutable, Alias("AttachedSocket")]
internal sealed record AttachedSocket(
    [property: Id(0)] IDeviceConnection Connection, [property: Id(1)] Guid ConnectionId, [property: Id(2)] long ConnectedAt, [property: Id(3)] long AcceptedAt);
