using System.Buffers;

namespace Cluster.Persistence.Blobs;

/// <summary>
/// The write path both engines share: a pending row first (with its abandon deadline), then one committed chunk per
/// <see cref="ChunkBytes"/> read, then the row is completed. Readers see only completed rows.
/// </summary>
public abstract class BlobStore : IBlobStore
{
    /// <summary>The size of a stored chunk: 1 MiB. Also the one buffer an upload or a download holds.</summary>
    public const int ChunkBytes = 1024 * 1024;

    /// <inheritdoc />
    public async Task<BlobWriteResult> WriteAsync(BlobWrite write, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(write.Id);
        ArgumentOutOfRangeException.ThrowIfNegative(write.MaxLength);

        var reservation = await InsertPendingAsync(write, cancellationToken);
        if (reservation.Refused is { } refused)
        {
            return new BlobWriteResult(BlobWriteStatus.QuotaExceeded, 0) { Limit = refused, RetryAt = reservation.RetryAt };
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        var stored = false;
        try
        {
            long length = 0;
            var chunks = 0;
            while (true)
            {
                var read = await FillAsync(content, buffer.AsMemory(0, ChunkBytes), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > reservation.MaxLength)
                {
                    return length > write.MaxLength
                        ? new BlobWriteResult(BlobWriteStatus.TooLarge, length)
                        : new BlobWriteResult(BlobWriteStatus.QuotaExceeded, length) { Limit = BlobQuotaLimit.Bytes, RetryAt = reservation.RetryAt };
                }

                if (!await InsertChunkAsync(write.Id, chunks, buffer.AsMemory(0, read), cancellationToken))
                {
                    return new BlobWriteResult(BlobWriteStatus.Abandoned, length);
                }

                chunks++;
            }

            stored = await CompleteAsync(write.Id, write.ExpiresAt, length, chunks, cancellationToken);
            return new BlobWriteResult(stored ? BlobWriteStatus.Stored : BlobWriteStatus.Abandoned, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!stored)
            {
                await DeleteQuietlyAsync(write.Id);
            }
        }
    }

    /// <inheritdoc />
    public async Task<StoredBlob?> FindAsync(string id, long now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return await FindCoreAsync(id, now, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> ReadChunkAsync(string id, int index, byte[] buffer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(buffer);
        return await ReadChunkCoreAsync(id, index, buffer, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return limit == 0 ? 0 : await DeleteExpiredCoreAsync(now, limit, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> DeleteOwnedAsync(string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return await DeleteOwnedCoreAsync(owner, cancellationToken);
    }

    /// <summary>Finds a readable blob (id checked); see <see cref="FindAsync"/>.</summary>
    private protected abstract Task<StoredBlob?> FindCoreAsync(string id, long now, CancellationToken cancellationToken);

    /// <summary>Reads a chunk into the buffer (arguments checked), -1 when there is none; see <see cref="ReadChunkAsync"/>.</summary>
    private protected abstract Task<int> ReadChunkCoreAsync(string id, int index, byte[] buffer, CancellationToken cancellationToken);

    /// <summary>Deletes expired blobs (limit above 0); see <see cref="DeleteExpiredAsync"/>.</summary>
    private protected abstract Task<int> DeleteExpiredCoreAsync(long now, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes the owner's blobs (owner checked); see <see cref="DeleteOwnedAsync"/>.</summary>
    private protected abstract Task<int> DeleteOwnedCoreAsync(string owner, CancellationToken cancellationToken);

    /// <summary>Copies a stored chunk into the caller's buffer; a chunk larger than the buffer is a corrupt store.</summary>
    private protected static async Task<int> CopyChunkAsync(Stream chunk, int index, byte[] buffer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(buffer);
        if (chunk.Length > buffer.Length)
        {
            throw new InvalidOperationException($"Chunk {index} of a blob is {chunk.Length} bytes, larger than the {buffer.Length}-byte buffer.");
        }

        var length = (int)chunk.Length;
        await chunk.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken);
        return length;
    }

    /// <summary>
    /// Inserts the row of an upload that has begun: unreadable, expiring at its abandon deadline, with its owner and
    /// reservation. With a quota, the owner's usage is read and the row inserted atomically (no other upload of the
    /// owner in between, see <see cref="Reserve"/>); a refused upload inserts nothing.
    /// </summary>
    private protected abstract Task<BlobReservation> InsertPendingAsync(BlobWrite write, CancellationToken cancellationToken);

    /// <summary>
    /// The quota rule, on the owner's current usage: refused when the owner has its maximum count of blobs, or not
    /// room for the declared length (or for any byte); otherwise the upload may take its declared length, or what is
    /// left of the quota, never more than the largest blob.
    /// </summary>
    private protected static BlobReservation Reserve(BlobWrite write, BlobUsage usage)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(usage);
        if (write.Quota is not { } quota || write.Owner is null)
        {
            return new BlobReservation(write.MaxLength, null, 0);
        }

        if (usage.Count >= quota.MaxCount)
        {
            return new BlobReservation(0, BlobQuotaLimit.Count, usage.OldestExpiresAt);
        }

        var remaining = quota.MaxBytes - usage.Bytes;
        if (remaining <= 0 || write.DeclaredLength > remaining)
        {
            return new BlobReservation(0, BlobQuotaLimit.Bytes, usage.OldestExpiresAt);
        }

        return new BlobReservation(Math.Min(write.MaxLength, write.DeclaredLength ?? remaining), null, usage.OldestExpiresAt);
    }

    /// <summary>Stores one chunk (committed); false when the pending row is gone (swept).</summary>
    private protected abstract Task<bool> InsertChunkAsync(string id, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Makes the blob readable; false when the pending row is gone (swept).</summary>
    private protected abstract Task<bool> CompleteAsync(string id, long expiresAt, long length, int chunkCount, CancellationToken cancellationToken);

    /// <summary>Deletes the blob's row and chunks.</summary>
    private protected abstract Task DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>What an upload may hold of its owner's quota, or which limit refused it.</summary>
    /// <param name="MaxLength">The most bytes the upload may store (also what its row reserves).</param>
    /// <param name="Refused">Null when granted.</param>
    /// <param name="RetryAt">Unix ms at which the owner's oldest blob expires, or 0.</param>
    private protected sealed record BlobReservation(long MaxLength, BlobQuotaLimit? Refused, long RetryAt);

    /// <summary>An owner's unexpired blobs: how many, the bytes they hold (reservations of uploads under way included), and the earliest expiry among them (0: none).</summary>
    private protected sealed record BlobUsage(long Count, long Bytes, long OldestExpiresAt);

    private static async Task<int> FillAsync(Stream content, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await content.ReadAsync(buffer[filled..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    private async Task DeleteQuietlyAsync(string id)
    {
        try
        {
            // Not the request's token: a client that went away is the usual reason to be here.
            await DeleteAsync(id, CancellationToken.None);
        }
        catch (System.Data.Common.DbException)
        {
            // The row expires at its abandon deadline; the sweep removes what is left.
        }
    }
}
