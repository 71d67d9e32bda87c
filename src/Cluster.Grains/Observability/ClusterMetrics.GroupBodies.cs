using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Group message bodies, stored once per group send (<c>GroupGrain</c>) and swept by the silo's body sweeper.</summary>
public static partial class ClusterMetrics
{
    /// <summary>Group message bodies stored (one per group send with at least one copy, a retry counted again).</summary>
    public static readonly Counter<long> GroupBodiesStored = Meter.CreateCounter<long>("cluster_group_bodies_stored_total", description: "Group message bodies stored, once per group send");

    /// <summary>Content bytes of the group message bodies stored: against <c>cluster_group_copies_total</c>, what storing a copy per device would have cost.</summary>
    public static readonly Counter<long> GroupBodyBytesStored = Meter.CreateCounter<long>("cluster_group_body_bytes_total", unit: "By", description: "Content bytes of the group message bodies stored");

    /// <summary>Group bodies deleted by the sweep: expired, or left with no row by a stop between a row's delete and the body's.</summary>
    public static readonly Counter<long> GroupBodiesSwept = Meter.CreateCounter<long>("cluster_group_bodies_swept_total", description: "Group bodies deleted by the sweep");
}
