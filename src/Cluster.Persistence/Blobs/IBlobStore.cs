namespace Cluster.Persistence.Blobs;

/// <summary>How a write of a blob ended.</summary>
public enum BlobWriteStatus
{
    /// <summary>Every byte is durable and the blob can be read until it expires.</summary>
    Stored,

    /// <summary>The content went past the allowed length; nothing of it is kept.</summary>
    TooLarge,

    /// <summary>The upload outlived its deadline and was swept away while it ran; nothing of it is kept.</summary>
    Abandoned,

    /// <summary>The owner's quota (<see cref="BlobWrite.Quota"/>) has no room for it; nothing of it is kept.</summary>
    QuotaExceeded,
}

/// <summary>Which part of a quota refused a write.</summary>
public enum BlobQuotaLimit
{
    /// <summary>The owner's blobs would hold more than <see cref="BlobQuota.MaxBytes"/>.</summary>
    Bytes,

    /// <summary>The owner already has <see cref="BlobQuota.MaxCount"/> blobs (uploads under way included).</summary>
    Count,
}

/// <summary>What one owner's unexpired blobs, finished or being uploaded, may hold together.</summary>
/// <param name="MaxBytes">Their total length; an upload under way counts what it reserved.</param>
/// <param name="MaxCount">How many.</param>
public sealed record BlobQuota(long MaxBytes, int MaxCount);

/// <summary>What to store.</summary>
/// <param name="Id">The blob id: unguessable, chosen by the caller.</param>
/// <param name="MaxLength">The most bytes the content may have.</param>
/// <param name="ExpiresAt">Unix ms at which the stored blob expires.</param>
/// <param name="AbandonAt">
/// Unix ms until which an unfinished upload is kept: a writer that dies mid-upload leaves rows that the expiry sweep
/// removes from then on.
/// </param>
public sealed record BlobWrite(string Id, long MaxLength, long ExpiresAt, long AbandonAt)
{
    /// <summary>The uploading account, whose quota the blob counts against; null: no owner and no quota.</summary>
    public string? Owner { get; init; }

    /// <summary>The owner's quota, checked atomically with the owner's other uploads; null: none.</summary>
    public BlobQuota? Quota { get; init; }

    /// <summary>
    /// The content's length when the client declared it (<c>Content-Length</c>): the upload reserves exactly that much
    /// of the quota. Otherwise it reserves what is left of the quota (at most <see cref="MaxLength"/>).
    /// </summary>
    public long? DeclaredLength { get; init; }

    /// <summary>Unix ms now: the owner's blobs that expire after it count against the quota.</summary>
    public long Now { get; init; }
}

/// <summary>The outcome of a write.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Length">The content's length when stored; otherwise how many bytes were read.</param>
public sealed record BlobWriteResult(BlobWriteStatus Status, long Length)
{
    /// <summary>With <see cref="BlobWriteStatus.QuotaExceeded"/>: which limit refused it.</summary>
    public BlobQuotaLimit? Limit { get; init; }

    /// <summary>
    /// With <see cref="BlobWriteStatus.QuotaExceeded"/>: Unix ms at which the owner's oldest blob expires (and room is
    /// made), or 0 when the owner holds none.
    /// </summary>
    public long RetryAt { get; init; }
}

/// <summary>A stored, complete, unexpired blob.</summary>
/// <param name="Id">The blob id.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="ChunkCount">How many chunks hold it (<see cref="BlobStore.ChunkBytes"/> each, the last one shorter).</param>
/// <param name="ExpiresAt">Unix ms at which it expires.</param>
public sealed record StoredBlob(string Id, long Length, int ChunkCount, long ExpiresAt);

/// <summary>
/// Opaque blobs (encrypted history bundles) in the database, in chunks of <see cref="BlobStore.ChunkBytes"/>, so that
/// neither an upload nor a download holds more than one chunk in memory, and no transaction stays open while a client
/// sends or receives. A blob becomes readable only once all its chunks are durable.
/// </summary>
public interface IBlobStore
{
    /// <summary>
    /// Streams <paramref name="content"/> into a new blob, one committed chunk at a time. Whatever the outcome other than
    /// <see cref="BlobWriteStatus.Stored"/> (including an exception or cancellation), nothing of it stays readable, and
    /// its rows are deleted at once where possible, else by the expiry sweep.
    /// </summary>
    Task<BlobWriteResult> WriteAsync(BlobWrite write, Stream content, CancellationToken cancellationToken = default);

    /// <summary>The blob, if it is complete and has not expired at <paramref name="now"/> (Unix ms).</summary>
    Task<StoredBlob?> FindAsync(string id, long now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Copies chunk <paramref name="index"/> of a blob into <paramref name="buffer"/> (at least
    /// <see cref="BlobStore.ChunkBytes"/> long) and returns its length, or -1 when the chunk is gone (the blob was swept).
    /// </summary>
    Task<int> ReadChunkAsync(string id, int index, byte[] buffer, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes up to <paramref name="limit"/> blobs (complete or abandoned) whose expiry is at or before
    /// <paramref name="now"/>, with their chunks; returns how many blobs went.
    /// </summary>
    Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every blob <paramref name="owner"/> uploaded (account deletion), complete or under way, with its chunks;
    /// returns how many blobs went. An upload still running finds its row gone and ends as
    /// <see cref="BlobWriteStatus.Abandoned"/>.
    /// </summary>
    Task<int> DeleteOwnedAsync(string owner, CancellationToken cancellationToken = default);
}
