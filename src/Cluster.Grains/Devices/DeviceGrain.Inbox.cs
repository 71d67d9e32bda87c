using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;

namespace Cluster.Grains.Devices;

/// <summary>
/// The inbox: rows in the inbox table (group-committed by <see cref="IInboxStore"/>) under a per-device sequence kept
/// here; enqueue, ack, fetch, the queue quota (<see cref="MessagingOptions.MaxQueueLength"/>, oldest dropped first) and
/// expiry (each row expires <see cref="MessagingOptions.InboxTimeToLive"/> after its server timestamp; the store skips
/// and sweeps expired rows). A group copy (<see cref="InboxEnvelope.Body"/>) is a row like any other, counted once in the
/// quota, that refers to its shared body instead of holding the content. Delivery of what is stored to the socket is
/// DeviceGrain.Delivery.cs.
/// </summary>
internal sealed partial class DeviceGrain
{
    // Sequences handed out by EnqueueAsync whose append has not finished: added and removed by EnqueueAsync; the pump sends nothing past the lowest.
    private readonly SortedSet<long> uncommitted = [];

    // The one load of lastSequence and depth from the store: started by EnsureInboxLoadedAsync, dropped there if it failed.
    private Task? inboxLoaded;

    // The highest sequence handed out: loaded by LoadInboxAsync, incremented by EnqueueAsync.
    private long lastSequence;

    // The rows stored for this device, as far as this activation knows: changed only through SetDepth.
    private long depth;

    public async Task EnqueueAsync(IReadOnlyList<InboxEnvelope> envelopes)
    {
        await EnsureInboxLoadedAsync();
        if (inboxState.State.Removed)
        {
            // A send checked against the devices just before this one was removed (or its account deleted): stored, its
            // envelopes would outlive the device's purge.
            ClusterMetrics.EnvelopesForRemovedDevice.Add(envelopes.Count);
            return;
        }

        var ttl = (long)messaging.Value.InboxTimeToLive.TotalMilliseconds;
        var rows = new InboxRow[envelopes.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            var envelope = envelopes[i];
            var sequence = ++lastSequence;
            uncommitted.Add(sequence);
            rows[i] = envelope.Body is { } body
                ? new InboxRow(Address, sequence, envelope.Id, Math.Min(envelope.ServerTimestamp + ttl, body.ExpiresAt), envelope.Json, new InboxBodyRef(body.Id, body.Offset))
                : new InboxRow(Address, sequence, envelope.Id, envelope.ServerTimestamp + ttl, envelope.Json);
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
            for (var i = 0; i < rows.Length; i++)
            {
                // A group copy's row holds no content: the socket gets the envelope whole, as a read would give it.
                var row = rows[i];
                ready[row.Sequence] = envelopes[i].Body is { } body
                    ? row with { Envelope = GroupBodies.Splice(row.Envelope, body.Offset, body.Content) }
                    : row;
            }
        }

        if (depth > messaging.Value.MaxQueueLength)
        {
            await DropOldestAsync();
        }

        WakeIfOffline(stored, envelopes);
        await PumpAsync();
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

    /// <summary>Every change of <see cref="depth"/> goes through here, so that the silo's inbox-depth gauge stays the sum over active devices.</summary>
    private void SetDepth(long value)
    {
        ClusterMetrics.AddInboxDepth(value - depth);
        depth = value;
    }

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
}
