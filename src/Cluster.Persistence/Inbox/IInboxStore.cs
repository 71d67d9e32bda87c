namespace Cluster.Persistence.Inbox;

/// <summary>One stored envelope of a device's inbox.</summary>
/// <param name="Device">The device's address, <c>accountId.deviceId</c>.</param>
/// <param name="Sequence">The per-device sequence number (assigned by the device's grain, strictly increasing).</param>
/// <param name="Id">The envelope id (also unique per device: storing an id twice stores it once).</param>
/// <param name="ExpiresAt">Unix ms after which the envelope is dropped undelivered.</param>
/// <param name="Envelope">
/// The envelope, serialized once as the UTF-8 JSON a device receives; opaque to the store. With <paramref name="Body"/>,
/// an append stores it as given, without its content (the store never copies the content into the row), and a read
/// returns it whole, the body's content spliced back in.
/// </param>
/// <param name="Body">A group copy's shared body (<see cref="IGroupBodyStore"/>), or null for an envelope stored whole.</param>
public sealed record InboxRow(string Device, long Sequence, Guid Id, long ExpiresAt, byte[] Envelope, InboxBodyRef? Body = null);

/// <summary>
/// The per-device inbox table: one row per envelope, keyed by (device, sequence). Writes from every grain of the silo
/// are group-committed: many callers' rows go into one transaction, and each caller is released once its rows are
/// durable. Enqueue cost does not depend on queue depth.
/// </summary>
/// <remarks>
/// Writes (append, delete, DeleteOldest, Purge) of one device are applied in the order they were called. A write's
/// task faults when its transaction fails; the write is then not stored. Cancelling a write's token stops the wait
/// only: a write already queued may still be committed, which is harmless because every write is idempotent
/// (an id is stored once per device; deleting a missing id is a no-op and counts 0). Rows and id lists must not be changed until
/// the task completes. A delete of any kind (ack, DeleteOldest, Purge, DeleteExpired) that takes away the last row
/// referring to a sealed <see cref="GroupBody"/> deletes the body too, before the delete's task completes.
/// </remarks>
public interface IInboxStore
{
    /// <summary>
    /// Stores rows; completes once they are durable (committed), with how many rows this call stored. Rows whose
    /// (device, id) exists already (a retry) are skipped and not counted, so a caller can keep an exact count of its queue.
    /// A row whose (device, sequence) is taken by another id faults the call (it would lose an envelope); other
    /// callers committing in the same batch are not affected.
    /// </summary>
    Task<int> AppendAsync(IReadOnlyList<InboxRow> rows, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes envelopes of one device by id (acks); ids not in the queue are ignored. Completes once durable, with how
    /// many rows this call deleted: an id named twice, or already deleted by another call, counts once and for the call
    /// that deleted it, so a caller can keep an exact count of its queue.
    /// </summary>
    Task<int> DeleteAsync(string device, IReadOnlyList<Guid> ids, CancellationToken cancellationToken = default);

    /// <summary>Reads up to <paramref name="limit"/> rows of a device with a sequence greater than <paramref name="afterSequence"/>, in sequence order, leaving out expired ones (<see cref="InboxRow.ExpiresAt"/> before <paramref name="now"/>).</summary>
    Task<IReadOnlyList<InboxRow>> ReadAsync(string device, long afterSequence, int limit, long now, CancellationToken cancellationToken = default);

    /// <summary>
    /// The highest sequence among the device's stored envelopes (expired ones not yet swept included), or 0 when its
    /// queue is empty. Envelopes that were acked, dropped or purged no longer count: a caller that must never reuse a
    /// sequence across an emptied queue keeps its own high-water mark.
    /// </summary>
    Task<long> GetMaxSequenceAsync(string device, CancellationToken cancellationToken = default);

    /// <summary>How many envelopes the device's queue holds.</summary>
    Task<long> CountAsync(string device, CancellationToken cancellationToken = default);

    /// <summary>Deletes the device's <paramref name="count"/> oldest envelopes (quota overflow); returns how many went.</summary>
    Task<int> DeleteOldestAsync(string device, int count, CancellationToken cancellationToken = default);

    /// <summary>Deletes every envelope of the device (the device was removed); returns how many went.</summary>
    Task<int> PurgeAsync(string device, CancellationToken cancellationToken = default);

    /// <summary>Deletes up to <paramref name="limit"/> envelopes of any device that expired before <paramref name="now"/>; returns how many went.</summary>
    Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken = default);
}
