using System.Diagnostics.Metrics;
using Cluster.Grains.Observability;

namespace Cluster.Silo.Messaging;

/// <summary>Instruments owned by the silo's socket code, under the product's one meter name (<see cref="ClusterMetrics.MeterName"/>).</summary>
internal static class SocketMetrics
{
    private static readonly Meter Meter = new(ClusterMetrics.MeterName);

    /// <summary>Observers of closed sockets deleted without their grace because <c>Sockets:MaxClosedObservers</c> were held.</summary>
    public static readonly Counter<long> ClosedObserversDeletedEarly = Meter.CreateCounter<long>(
        "cluster_closed_observers_deleted_early_total", description: "Observers of closed sockets deleted at once because the most allowed were waiting out their grace");
}
