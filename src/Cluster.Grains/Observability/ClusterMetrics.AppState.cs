using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>App state sync (the silo's AppState endpoints).</summary>
public static partial class ClusterMetrics
{
    /// <summary>App state patches stored.</summary>
    public static readonly Counter<long> AppStatePatches = Meter.CreateCounter<long>("cluster_app_state_patches_total", description: "App state patches stored");

    /// <summary>App state snapshots stored (each deletes the patches it covers).</summary>
    public static readonly Counter<long> AppStateSnapshots = Meter.CreateCounter<long>("cluster_app_state_snapshots_total", description: "App state snapshots stored");

    /// <summary>
    /// App state requests answered 409, by <c>reason</c>: <c>version_conflict</c> (a patch built on an older version,
    /// the loser of a race), <c>snapshot_stale</c>, <c>snapshot_ahead</c>, <c>version_ahead</c> (a fetch from a version
    /// the server never had).
    /// </summary>
    public static readonly Counter<long> AppStateConflicts = Meter.CreateCounter<long>("cluster_app_state_conflicts_total", description: "App state requests answered 409, by reason");

    /// <summary>App state uploads refused with 413, by <c>limit</c>: <c>patch_bytes</c>, <c>snapshot_bytes</c> or <c>collection_bytes</c>.</summary>
    public static readonly Counter<long> AppStateLimitHits = Meter.CreateCounter<long>("cluster_app_state_limits_total", description: "App state uploads refused for a size limit, by limit");
}
