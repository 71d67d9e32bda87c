namespace Cluster.Persistence.AppState;

/// <summary>
/// An account's app state collections (contact names, archived, pinned, muted chats), each a strictly increasing
/// sequence of opaque patches (version n + 1 builds on n) and at most one snapshot that covers every patch up to its
/// version. The server never reads the bytes: the clients encrypt them and check their integrity.
/// </summary>
/// <remarks>
/// Ordering and races: every write to a collection is conditional on its head, in one transaction, so of two
/// uploads of the same version exactly one is stored and the other is answered <see cref="AppStateWriteStatus.Conflict"/>
/// with the latest version, on every silo of a cluster; the patches' primary key (account, collection, version) makes a
/// fork impossible even past a bug in that check. Reads are one consistent view: a page never mixes a snapshot with
/// patches from before it, or misses a patch because a snapshot was stored meanwhile. Nothing is retried: a write
/// that throws stored nothing or everything. Cancellation abandons the call (a write in flight rolls back).
/// </remarks>
public interface IAppStateStore
{
    /// <summary>Stores the patch for <paramref name="version"/> if it is exactly the latest version plus one and fits.</summary>
    /// <param name="accountId">The account.</param>
    /// <param name="collection">The collection's name (checked by the caller against the allowed names).</param>
    /// <param name="version">The patch's version, 1 or more.</param>
    /// <param name="data">The patch's bytes, opaque.</param>
    /// <param name="maxCollectionBytes">The most bytes the collection may hold with it.</param>
    /// <param name="maxPatches">The most patches the collection may hold after its snapshot, this one included (each is a row).</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    Task<AppStateWriteResult> AppendPatchAsync(
        string accountId, string collection, long version, byte[] data, long maxCollectionBytes, int maxPatches, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a snapshot of the collection at <paramref name="version"/> (at most the latest, above the current
    /// snapshot's) and deletes the patches it covers (up to its version), if the collection then fits.
    /// </summary>
    /// <param name="accountId">The account.</param>
    /// <param name="collection">The collection's name.</param>
    /// <param name="version">The version the snapshot is the state of, 1 or more.</param>
    /// <param name="data">The snapshot's bytes, opaque.</param>
    /// <param name="maxCollectionBytes">The most bytes the collection may hold with it.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    Task<AppStateWriteResult> PutSnapshotAsync(
        string accountId, string collection, long version, byte[] data, long maxCollectionBytes, CancellationToken cancellationToken = default);

    /// <summary>
    /// What a device at <paramref name="since"/> needs, in version order: when <paramref name="since"/> is older than
    /// the snapshot, the snapshot and the patches after it; otherwise the patches after <paramref name="since"/>; at
    /// most <paramref name="limit"/> patches. An unknown collection reads as version 0, empty.
    /// </summary>
    /// <param name="accountId">The account.</param>
    /// <param name="collection">The collection's name.</param>
    /// <param name="since">The version the device holds, 0 or more.</param>
    /// <param name="limit">The most patches, 1 or more.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    Task<AppStatePage> ReadAsync(string accountId, string collection, long since, int limit, CancellationToken cancellationToken = default);

    /// <summary>The account's collections with something stored, by name.</summary>
    /// <param name="accountId">The account.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    Task<IReadOnlyList<AppStateHead>> ListAsync(string accountId, CancellationToken cancellationToken = default);

    /// <summary>Deletes every collection of the account (for account deletion, issue 18); how many collections went.</summary>
    /// <param name="accountId">The account.</param>
    /// <param name="cancellationToken">Abandons the call.</param>
    Task<int> DeleteAccountAsync(string accountId, CancellationToken cancellationToken = default);
}

/// <summary>How a write ended.</summary>
public enum AppStateWriteStatus
{
    /// <summary>Stored; <see cref="AppStateWriteResult.Head"/> is the collection after it.</summary>
    Stored,

    /// <summary>A patch whose version is not the latest plus one: nothing stored.</summary>
    Conflict,

    /// <summary>A snapshot at or below the current snapshot's version: nothing stored.</summary>
    StaleSnapshot,

    /// <summary>A snapshot above the latest version: nothing stored.</summary>
    SnapshotAhead,

    /// <summary>The collection would hold more than its maximum of bytes: nothing stored.</summary>
    CollectionFull,
}

/// <summary>A write's outcome, with the collection's head after it (or as it stands, when refused).</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Head">The collection's head.</param>
public sealed record AppStateWriteResult(AppStateWriteStatus Status, AppStateHead Head);

/// <summary>Where a collection stands.</summary>
/// <param name="Collection">The collection's name.</param>
/// <param name="Version">The latest version, 0 when nothing is stored.</param>
/// <param name="SnapshotVersion">The snapshot's version, 0 when there is none.</param>
/// <param name="Bytes">What the collection holds: the snapshot's bytes and those of the patches after it.</param>
public sealed record AppStateHead(string Collection, long Version, long SnapshotVersion, long Bytes);

/// <summary>One patch or snapshot: its version and its opaque bytes.</summary>
/// <param name="Version">The version.</param>
/// <param name="Data">The bytes.</param>
public sealed record AppStateItem(long Version, byte[] Data);

/// <summary>A page of a collection.</summary>
/// <param name="Head">The collection's head when read.</param>
/// <param name="Snapshot">The snapshot, when the reader is older than it.</param>
/// <param name="Patches">The patches after the reader's version (or the snapshot's), in version order.</param>
/// <param name="More">Whether more patches follow the last one.</param>
public sealed record AppStatePage(AppStateHead Head, AppStateItem? Snapshot, IReadOnlyList<AppStateItem> Patches, bool More);
