using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Membership (the silo's own failure detection, Cluster.Silo's <c>RefusedConnectionWatcher</c>).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Silos this silo declared dead itself, by <c>evidence</c>: <see cref="RefusedConnection"/> (its connection dropped and its port refused new ones).</summary>
    public static readonly Counter<long> SilosDeclaredDead = Meter.CreateCounter<long>("cluster_silos_declared_dead_total", description: "Silos this silo declared dead on evidence of its own, by evidence");

    /// <summary>The <c>evidence</c> label of a silo declared dead because its port refused connections.</summary>
    public static readonly KeyValuePair<string, object?> RefusedConnection = new("evidence", "refused_connection");
}
