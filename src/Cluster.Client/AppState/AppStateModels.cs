using System.Net;

namespace Cluster.Client.AppState;

/// <summary>Where an app state collection stands.</summary>
/// <param name="Collection">The collection's name, e.g. <c>regular</c>.</param>
/// <param name="Version">The latest version (0: nothing stored).</param>
/// <param name="SnapshotVersion">The snapshot's version (0: none).</param>
public sealed record AppStateHead(string Collection, long Version, long SnapshotVersion);

/// <summary>One patch or snapshot, as the client encrypted it.</summary>
/// <param name="Version">Its version.</param>
/// <param name="Data">Its bytes.</param>
public sealed record AppStateItem(long Version, byte[] Data);

/// <summary>
/// A page of a collection after the version asked from: when that is older than the snapshot, the snapshot (which
/// replaces the device's state) and the patches after it; otherwise the patches after it. Apply in order.
/// </summary>
/// <param name="Collection">The collection's name.</param>
/// <param name="Version">The latest version.</param>
/// <param name="SnapshotVersion">The snapshot's version (0: none).</param>
/// <param name="Snapshot">The snapshot, or null.</param>
/// <param name="Patches">The patches, in version order.</param>
/// <param name="More">Whether more patches follow: fetch again from the last one's version.</param>
public sealed record AppStatePage(
    string Collection, long Version, long SnapshotVersion, AppStateItem? Snapshot, IReadOnlyList<AppStateItem> Patches, bool More);

/// <summary>
/// 409 on app state: the upload was not built on the latest version (<c>version_conflict</c>: fetch, rebase, upload
/// <see cref="Version"/> + 1), or a snapshot or fetch named a version that does not fit (<c>snapshot_stale</c>,
/// <c>snapshot_ahead</c>, <c>version_ahead</c>).
/// </summary>
public sealed class AppStateConflictException(string error, string message, long version, long snapshotVersion)
    : ClusterApiException(HttpStatusCode.Conflict, error, message)
{
    /// <summary>The collection's latest version.</summary>
    public long Version { get; } = version;

    /// <summary>The collection's snapshot version (0: none).</summary>
    public long SnapshotVersion { get; } = snapshotVersion;
}

internal sealed record AppStateHeadList(IReadOnlyList<AppStateHead> Collections);

internal sealed record AppStatePatchBody(long Version, byte[] Patch);

internal sealed record AppStateSnapshotBody(long Version, byte[] Snapshot);
