using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Groups (the silo's Groups endpoints and <c>GroupGrain</c>).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Groups created.</summary>
    public static readonly Counter<long> GroupsCreated = Meter.CreateCounter<long>("cluster_groups_created_total", description: "Groups created");

    /// <summary>Group changes refused for a limit, by <c>limit</c>: <c>members</c> (the member cap).</summary>
    public static readonly Counter<long> GroupLimitHits = Meter.CreateCounter<long>("cluster_group_limits_total", description: "Group changes refused for a limit, by limit");
}
