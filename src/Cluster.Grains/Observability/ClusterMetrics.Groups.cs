using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Groups (the silo's Groups endpoints and <c>GroupGrain</c>).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Groups created.</summary>
    public static readonly Counter<long> GroupsCreated = Meter.CreateCounter<long>("cluster_groups_created_total", description: "Groups created");

    /// <summary>Group changes refused for a limit, by <c>limit</c>: <c>members</c> (the member cap), <c>groups_per_account</c> (an account in too many groups).</summary>
    public static readonly Counter<long> GroupLimitHits = Meter.CreateCounter<long>("cluster_group_limits_total", description: "Group changes refused for a limit, by limit");

    /// <summary>Group sends answered, by <c>outcome</c>: <c>sent</c>, <c>not_member</c>, <c>mismatched</c>, <c>stale</c>, <c>not_found</c>.</summary>
    public static readonly Counter<long> GroupSends = Meter.CreateCounter<long>("cluster_group_sends_total", description: "Group sends answered, by outcome");

    /// <summary>Device copies stored by group sends (one per device of every member but the sending device).</summary>
    public static readonly Counter<long> GroupCopiesStored = Meter.CreateCounter<long>("cluster_group_copies_total", description: "Device copies stored by group sends");
}
