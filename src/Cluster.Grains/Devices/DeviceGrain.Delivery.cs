using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;

namespace Cluster.Grains.Devices;

/// <summary>
/// The inbox: rows in the inbox table (group-committed by <see cref="IInboxStore"/>), a per-device sequence kept here,
/// and the socket, which gets the stored backlog in order, then <c>queueEmpty</c>, then new envelopes as they commit,
/// with at most <see cref="MessagingOptions.MaxUnacked"/> (and about <see cref="MessagingOptions.MaxUnackedBytes"/>)
/// unacknowledged. Only a socket authenticated as the device's current incarnation attaches, and only the attached
/// socket acks.
/// </summary>
internal sealed partial class DeviceGrain
{
    /// <summary>Committed envelopes kept in memory for a connected device, so that a push needs no read.</summary>
    private const int MaxReadyInMemory = 1024;

    private static readonly IReadOnlyList<DeviceFrame> QueueEmptyFrame = [new DeviceFrame(FrameKind.QueueEmpty, null)];

    private const string AttachedSocketKey = "cluster.attached-socket";

    private readonly SortedSet<long> uncommitted = [];
    private readonly SortedDictionary<long, InboxRow> ready = [];
    private readonly Dictionary<Guid, Unacked> unacked = [];

    // The JSON bytes of the envelopes in unacked, bounded by MessagingOptions.MaxUnackedBytes.
    private long unackedBytes;
    private Task? inboxLoaded;
    private long lastSequence;
    private long depth;

    private IDeviceConnection? connection;
    private Guid connectionId;
    private long connectedAt;

    // When the attached socket was accepted by its silo (UTC ticks): orders attach calls that arrive out of order.
    private long attachedAcceptedAt;
    private long sentThrough;
    private long backlogEnd;
    private bool queueEmptySent;
    private bool pumping;
    private bool pumpAgain;

    /// <summary>The grain is moving to its socket's silo: nothing more is pushed from this activation.</summary>
    private bool moving;

    public async Task EnqueueAsync(IReadOnlyList<InboxEnvelope> envelopes)
    {
        await EnsureInboxLoadedAsync();
        var ttl = (long)messaging.Value.InboxTimeToLive.TotalMilliseconds;
        var rows = new InboxRow[envelopes.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            var envelope = envelopes[i];
            var sequence = ++lastSequence;
            uncommitted.Add(sequence);
            rows[i] = new InboxRow(Address, sequence, envelope.Id, envelope.ServerTimestamp + ttl, envelope.Json);
        }

        int stored;
        try
        {
            // A retried send's envelopes (the same ids) are skipped by the store, and not counted again.
            stored = await store.AppendAsync(rows);
        }
        finally
        {
            foreach (var row in rows)
            {
                uncommitted.Remove(row.Sequence);
            }
        }

        SetDepth(depth + stored);
        ClusterMetrics.EnvelopesStored.Add(stored);
        if (connection is not null && ready.Count + rows.Length <= MaxReadyInMemory)
        {
            foreach (var row in rows)
            {
                ready[row.Sequence] = row;
            }
        }

        if (depth > messaging.Value.MaxQueueLength)
        {
            await DropOldestAsync();
        }

        await PumpAsync();
    }

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

    public async Task BeginIncarnationAsync(Guid incarnation)
    {
        inboxState.State.Incarnation = incarnation;
        inboxState.State.Removed = false;
        await inboxState.WriteStateAsync();
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

    public async Task AckAsync(IReadOnlyList<Guid> ids)
    {
        await EnsureInboxLoadedAsync();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var id in ids)
        {
            if (unacked.Remove(id, out var sent))
            {
                unackedBytes -= sent.Bytes;
                ClusterMetrics.DeliveryLatency.Record((now - sent.StoredAt) / 1000.0, sent.StoredAt >= connectedAt ? ClusterMetrics.LiveDelivery : ClusterMetrics.BacklogDelivery);
            }
        }

        // Only rows really deleted count: an ack of an id that is not queued (made up, acked twice) must not make
        // room under MaxQueueLength.
        var deleted = await store.DeleteAsync(Address, ids);
        SetDepth(Math.Max(0, depth - deleted));
        ClusterMetrics.EnvelopesAcked.Add(deleted);
        ClusterMetrics.AcksUnmatched.Add(ids.Count - deleted);
        await PumpAsync();
    }

    public async Task<SocketAttachment> SocketAckAsync(Guid id, IReadOnlyList<Guid> ids)
    {
        // Only the attached socket acks: a replaced or removed device's socket must not delete what is queued now.
        var attachment = Attachment(id);
        if (attachment == SocketAttachment.Attached)
        {
            await AckAsync(ids);
        }
        else
        {
            ClusterMetrics.SocketAcksRefused.Add(1);
        }

        return attachment;
    }

    public async Task<InboxPage> FetchAsync(int limit)
    {
        var rows = await store.ReadAsync(Address, 0, limit + 1, time.GetUtcNow().ToUnixTimeMilliseconds());
        var envelopes = new List<byte[]>(Math.Min(rows.Count, limit));
        for (var i = 0; i < rows.Count && i < limit; i++)
        {
            envelopes.Add(rows[i].Envelope);
        }

        return new InboxPage(envelopes, rows.Count > limit);
    }

    public async Task RemoveAsync()
    {
        // First, before any await: an attach interleaving with the removal is refused from here on.
        inboxState.State.Removed = true;
        if (connection is { } removed)
        {
            _ = removed.CloseAsync(4401, "device removed");
            connection = null;
        }

        ClearUnacked();
        ready.Clear();
        await store.PurgeAsync(Address);
        SetDepth(0);

        // Kept (not cleared) so that the removed device's sockets stay refused until the id is given to a new device.
        inboxState.State = new DeviceInboxState { Removed = true };
        await inboxState.WriteStateAsync();
        await ClearKeysAsync();
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ClusterMetrics.AddDeviceGrains(1);
        if (connection is not { } moved)
        {
            return;
        }

        // Migrated here with the socket attached on the previous silo (OnRehydrate): deliver to it from here.
        ClusterMetrics.DeviceGrainsMoved.Add(1);
        try
        {
            await EnsureInboxLoadedAsync();
            await AttachAsync();
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException)
        {
            // As when an attach call fails: the client is told to reconnect, and the envelopes stay queued.
            connection = null;
            _ = moved.CloseAsync(1011, "reconnect");
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (connection is { } attached && !moving && reason.ReasonCode != DeactivationReasonCode.Migrating)
        {
            // The socket lives on (on its own silo) but this activation no longer delivers to it: have it attach again.
            _ = attached.DetachedAsync();
        }

        SetDepth(0);
        ClusterMetrics.AddDeviceGrains(-1);
        return base.OnDeactivateAsync(reason, cancellationToken);
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

    /// <summary>Every change of <see cref="depth"/> goes through here, so that the silo's inbox-depth gauge stays the sum over active devices.</summary>
    private void SetDepth(long value)
    {
        ClusterMetrics.AddInboxDepth(value - depth);
        depth = value;
    }

    // Live events are droppable: a device whose socket cannot keep up misses them as if it were not connected.
    private void PushEvent(byte[] eventJson) => connection?.SendAsync([new DeviceFrame(FrameKind.Event, eventJson, Droppable: true)]);

    private void ClearUnacked()
    {
        unacked.Clear();
        unackedBytes = 0;
    }

    /// <summary>Whether the device may be sent another envelope now: under both unacked windows (count and bytes).</summary>
    private bool UnderWindow() => unacked.Count < messaging.Value.MaxUnacked && unackedBytes < messaging.Value.MaxUnackedBytes;

    private Task EnsureInboxLoadedAsync()
    {
        // A load that failed (the database was down) is tried again by the next call rather than remembered.
        if (inboxLoaded is { IsFaulted: true } or { IsCanceled: true })
        {
            inboxLoaded = null;
        }

        return inboxLoaded ??= LoadInboxAsync();
    }

    private async Task LoadInboxAsync()
    {
        lastSequence = await store.GetMaxSequenceAsync(Address);
        SetDepth(await store.CountAsync(Address));
    }

    private async Task DropOldestAsync()
    {
        var excess = (int)Math.Min(int.MaxValue, depth - messaging.Value.MaxQueueLength);
        var dropped = await store.DeleteOldestAsync(Address, excess);
        SetDepth(depth - dropped);
        ClusterMetrics.EnvelopesDropped.Add(dropped);
        inboxState.State.DroppedSinceConnected += dropped;
        await inboxState.WriteStateAsync();
    }

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
