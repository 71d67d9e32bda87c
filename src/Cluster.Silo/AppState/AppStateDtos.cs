namespace Cluster.Silo.AppState;

/// <summary>The body of <c>POST /v1/appstate/{collection}/patches</c>.</summary>
/// <param name="Version">The patch's version: the latest version plus one.</param>
/// <param name="Patch">The encrypted patch, base64.</param>
public sealed record AppStatePatchRequest(long? Version, byte[]? Patch);

/// <summary>The body of <c>PUT /v1/appstate/{collection}/snapshot</c>.</summary>
/// <param name="Version">The version the snapshot is the state of: above the current snapshot's, at most the latest.</param>
/// <param name="Snapshot">The encrypted snapshot, base64.</param>
public sealed record AppStateSnapshotRequest(long? Version, byte[]? Snapshot);

/// <summary>Where a collection stands: the answer to an upload, and one entry of <c>GET /v1/appstate</c>.</summary>
/// <param name="Collection">The collection's name.</param>
/// <param name="Version">The latest version (0: nothing stored).</param>
/// <param name="SnapshotVersion">The snapshot's version (0: none).</param>
public sealed record AppStateCollectionResponse(string Collection, long Version, long SnapshotVersion);

/// <summary>The answer to <c>GET /v1/appstate</c>: every collection the account has stored something in.</summary>
/// <param name="Collections">By name.</param>
public sealed record AppStateListResponse(IReadOnlyList<AppStateCollectionResponse> Collections);

/// <summary>One patch or snapshot of a fetch.</summary>
/// <param name="Version">Its version.</param>
/// <param name="Data">Its bytes, base64.</param>
public sealed record AppStateItemResponse(long Version, byte[] Data);

/// <summary>The answer to <c>GET /v1/appstate/{collection}?since=v</c>.</summary>
/// <param name="Collection">The collection's name.</param>
/// <param name="Version">The latest version.</param>
/// <param name="SnapshotVersion">The snapshot's version (0: none).</param>
/// <param name="Snapshot">The snapshot, when <c>since</c> is older than it: replaces the device's state.</param>
/// <param name="Patches">The patches after <c>since</c> (or after the snapshot), in version order.</param>
/// <param name="More">Whether more patches follow: fetch again from the last one's version.</param>
public sealed record AppStateFetchResponse(
    string Collection, long Version, long SnapshotVersion, AppStateItemResponse? Snapshot, IReadOnlyList<AppStateItemResponse> Patches, bool More);

/// <summary>A 409 of app state: the error, with where the collection stands so the client can fetch and rebase.</summary>
/// <param name="Error">The error code, e.g. <c>version_conflict</c>.</param>
/// <param name="Message">What went wrong.</param>
/// <param name="Collection">The collection's name.</param>
/// <param name="Version">The latest version.</param>
/// <param name="SnapshotVersion">The snapshot's version (0: none).</param>
public sealed record AppStateConflictError(string Error, string Message, string Collection, long Version, long SnapshotVersion);
