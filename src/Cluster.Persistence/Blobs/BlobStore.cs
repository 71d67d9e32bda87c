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

        await InsertPendingAsync(write.Id, write.AbandonAt, cancellationToken);
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
                if (length > write.MaxLength)
                {
                    return new BlobWriteResult(BlobWriteStatus.TooLarge, length);
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
    public abstract Task<StoredBlob?> FindAsync(string id, long now, CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public abstract Task<int> ReadChunkAsync(string id, int index, byte[] buffer, CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public abstract Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken = default);

    /// <summary>Inserts the row of an upload that has begun: unreadable, expiring at <paramref name="abandonAt"/>.</summary>
    private protected abstract Task InsertPendingAsync(string id, long abandonAt, CancellationToken cancellationToken);

    /// <summary>Stores one chunk (committed); false when the pending row is gone (swept).</summary>
    private protected abstract Task<bool> InsertChunkAsync(string id, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Makes the blob readable; false when the pending row is gone (swept).</summary>
    private protected abstract Task<bool> CompleteAsync(string id, long expiresAt, long length, int chunkCount, CancellationToken cancellationToken);

    /// <summary>Deletes the blob's row and chunks.</summary>
    private protected abstract Task DeleteAsync(string id, CancellationToken cancellationToken);

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
