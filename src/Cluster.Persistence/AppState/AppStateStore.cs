using System.Data.Common;

namespace Cluster.Persistence.AppState;

/// <summary>
/// What both engines share: the argument checks, and the rules that say why a write was refused once it has read the
/// collection's head. The engines hold only their SQL and transactions.
/// </summary>
public abstract class AppStateStore : IAppStateStore
{
    /// <inheritdoc />
    public async Task<AppStateWriteResult> AppendPatchAsync(
        string accountId, string collection, long version, byte[] data, long maxCollectionBytes, int maxPatches, CancellationToken cancellationToken = default)
    {
        CheckWrite(accountId, collection, version, data, maxCollectionBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPatches, 1);
        try
        {
            await using var transaction = await BeginAsync(accountId, collection, write: true, cancellationToken);
            var head = await transaction.ReadHeadAsync(cancellationToken);
            if (PatchRefusal(head, version, data.Length, maxCollectionBytes, maxPatches) is { } refused)
            {
                return new AppStateWriteResult(refused, head);
            }

            var after = head with { Version = version, Bytes = head.Bytes + data.Length };
            await transaction.WriteHeadAsync(after, isNew: head.Version == 0, cancellationToken);
            await transaction.InsertPatchAsync(version, data, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new AppStateWriteResult(AppStateWriteStatus.Stored, after);
        }
        catch (Exception ex) when (IsDuplicateKey(ex))
        {
            // Another silo stored this version (or created the collection) between this one's read and its insert.
            return new AppStateWriteResult(AppStateWriteStatus.Conflict, await ReadHeadAsync(accountId, collection, cancellationToken));
        }
    }

    /// <inheritdoc />
    public async Task<AppStateWriteResult> PutSnapshotAsync(
        string accountId, string collection, long version, byte[] data, long maxCollectionBytes, CancellationToken cancellationToken = default)
    {
        CheckWrite(accountId, collection, version, data, maxCollectionBytes);
        await using var transaction = await BeginAsync(accountId, collection, write: true, cancellationToken);
        var head = await transaction.ReadHeadAsync(cancellationToken);
        var bytesAfter = version <= head.Version ? await transaction.BytesAfterAsync(version, cancellationToken) : 0;
        if (SnapshotRefusal(head, version, data.Length, bytesAfter, maxCollectionBytes) is { } refused)
        {
            return new AppStateWriteResult(refused, head);
        }

        var after = head with { SnapshotVersion = version, Bytes = data.Length + bytesAfter };
        await transaction.ReplaceSnapshotAsync(version, data, cancellationToken);
        await transaction.WriteHeadAsync(after, isNew: false, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new AppStateWriteResult(AppStateWriteStatus.Stored, after);
    }

    /// <inheritdoc />
    public async Task<AppStatePage> ReadAsync(string accountId, string collection, long since, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        ArgumentException.ThrowIfNullOrEmpty(collection);
        ArgumentOutOfRangeException.ThrowIfNegative(since);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var transaction = await BeginAsync(accountId, collection, write: false, cancellationToken);
        var head = await transaction.ReadHeadAsync(cancellationToken);
        if (since >= head.Version)
        {
            return new AppStatePage(head, null, [], false);
        }

        // Older than the snapshot: the patches it covers are gone, and the snapshot stands in for them.
        var snapshot = since < head.SnapshotVersion ? await transaction.ReadSnapshotAsync(cancellationToken) : null;
        var patches = await transaction.ReadPatchesAsync(Math.Max(since, snapshot?.Version ?? 0), limit + 1, cancellationToken);
        var more = patches.Count > limit;
        if (more)
        {
            patches.RemoveAt(limit);
        }

        return new AppStatePage(head, snapshot, patches, more);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AppStateHead>> ListAsync(string accountId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        return await ListCoreAsync(accountId, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> DeleteAccountAsync(string accountId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        return await DeleteAccountCoreAsync(accountId, cancellationToken);
    }

    /// <summary>
    /// Opens a transaction on one collection. A write transaction holds the collection's head from its read to its end
    /// (no other write of the collection, on any silo, reads it in between); a read transaction sees one consistent
    /// view. Disposing it uncommitted rolls it back.
    /// </summary>
    private protected abstract Task<CollectionTransaction> BeginAsync(string accountId, string collection, bool write, CancellationToken cancellationToken);

    /// <summary>Whether the exception is the engine's unique-key violation.</summary>
    private protected abstract bool IsDuplicateKey(Exception exception);

    /// <summary>Lists the account's collections (argument checked); see <see cref="ListAsync"/>.</summary>
    private protected abstract Task<IReadOnlyList<AppStateHead>> ListCoreAsync(string accountId, CancellationToken cancellationToken);

    /// <summary>Deletes the account's rows (argument checked); see <see cref="DeleteAccountAsync"/>.</summary>
    private protected abstract Task<int> DeleteAccountCoreAsync(string accountId, CancellationToken cancellationToken);

    private async Task<AppStateHead> ReadHeadAsync(string accountId, string collection, CancellationToken cancellationToken)
    {
        await using var transaction = await BeginAsync(accountId, collection, write: false, cancellationToken);
        return await transaction.ReadHeadAsync(cancellationToken);
    }

    /// <summary>
    /// Why a patch may not be stored on this head, or null when it may: a version other than the latest plus one (a
    /// device that raced another, and must fetch and rebase), or no room: too many bytes, or too many patches (rows)
    /// after the snapshot. Versions have no gaps, so the patches after the snapshot number its version's distance from
    /// the latest.
    /// </summary>
    private static AppStateWriteStatus? PatchRefusal(AppStateHead head, long version, long length, long maxCollectionBytes, int maxPatches)
    {
        ArgumentNullException.ThrowIfNull(head);
        if (head.Version != version - 1)
        {
            return AppStateWriteStatus.Conflict;
        }

        return head.Bytes + length > maxCollectionBytes || head.Version - head.SnapshotVersion >= maxPatches
            ? AppStateWriteStatus.CollectionFull
            : null;
    }

    /// <summary>
    /// Why a snapshot may not be stored on this head, or null when it may: above the latest version, at or below the
    /// current snapshot's, or no room once the patches it covers are gone (<paramref name="bytesAfter"/>: the bytes of
    /// the patches after its version).
    /// </summary>
    private static AppStateWriteStatus? SnapshotRefusal(AppStateHead head, long version, long length, long bytesAfter, long maxCollectionBytes)
    {
        ArgumentNullException.ThrowIfNull(head);
        if (version > head.Version)
        {
            return AppStateWriteStatus.SnapshotAhead;
        }

        if (version <= head.SnapshotVersion)
        {
            return AppStateWriteStatus.StaleSnapshot;
        }

        return length + bytesAfter > maxCollectionBytes ? AppStateWriteStatus.CollectionFull : null;
    }

    /// <summary>The statements of one transaction on one collection, in the engine's SQL.</summary>
    private protected abstract class CollectionTransaction : IAsyncDisposable
    {
        /// <summary>The collection's head (version 0 when it has none); in a write transaction, held until the end.</summary>
        public abstract Task<AppStateHead> ReadHeadAsync(CancellationToken cancellationToken);

        /// <summary>Inserts (<paramref name="isNew"/>) or updates the head row.</summary>
        public abstract Task WriteHeadAsync(AppStateHead head, bool isNew, CancellationToken cancellationToken);

        /// <summary>Inserts a patch; a version already stored violates the patches' primary key.</summary>
        public abstract Task InsertPatchAsync(long version, byte[] data, CancellationToken cancellationToken);

        /// <summary>The bytes of the patches after <paramref name="version"/>.</summary>
        public abstract Task<long> BytesAfterAsync(long version, CancellationToken cancellationToken);

        /// <summary>Stores the snapshot in place of the current one and deletes the patches up to its version.</summary>
        public abstract Task ReplaceSnapshotAsync(long version, byte[] data, CancellationToken cancellationToken);

        /// <summary>The snapshot, or null when there is none.</summary>
        public abstract Task<AppStateItem?> ReadSnapshotAsync(CancellationToken cancellationToken);

        /// <summary>At most <paramref name="limit"/> patches after <paramref name="after"/>, in version order.</summary>
        public abstract Task<List<AppStateItem>> ReadPatchesAsync(long after, int limit, CancellationToken cancellationToken);

        /// <summary>Commits the transaction.</summary>
        public abstract Task CommitAsync(CancellationToken cancellationToken);

        /// <inheritdoc />
        public abstract ValueTask DisposeAsync();
    }

    /// <summary>Reads rows of (collection, version, snapshot_version, bytes).</summary>
    private protected static async Task<IReadOnlyList<AppStateHead>> ReadHeadRowsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var heads = new List<AppStateHead>();
        while (await reader.ReadAsync(cancellationToken))
        {
            heads.Add(new AppStateHead(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return heads;
    }

    /// <summary>Reads rows of (version, data).</summary>
    private protected static async Task<List<AppStateItem>> ReadItemRowsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var items = new List<AppStateItem>();
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new AppStateItem(reader.GetInt64(0), reader.GetFieldValue<byte[]>(1)));
        }

        return items;
    }

    /// <summary>Reads the one row of (version, snapshot_version, bytes) of a collection, if there is one.</summary>
    private protected static async Task<AppStateHead> ReadHeadRowAsync(DbDataReader reader, string collection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return await reader.ReadAsync(cancellationToken)
            ? new AppStateHead(collection, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2))
            : new AppStateHead(collection, 0, 0, 0);
    }

    private static void CheckWrite(string accountId, string collection, long version, byte[] data, long maxCollectionBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        ArgumentException.ThrowIfNullOrEmpty(collection);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCollectionBytes, 1);
    }
}
