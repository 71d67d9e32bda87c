using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>
/// The product's meter, one name for every instrument. Labels stay low-cardinality: never an account, device or call id.
/// The instruments are split by owner into partial files beside this one (ClusterMetrics.Inbox.cs, .Sockets.cs, ...):
/// a new metric is one more line in its feature's file (a new file for a new feature), created on <see cref="Meter"/>.
/// </summary>
public static partial class ClusterMetrics
{
    /// <summary>The meter name exported at <c>/metrics</c>.</summary>
    public const string MeterName = "Cluster";

    // Behind a nested class so that the meter exists before any partial file's field initializers use it, whatever
    // order the compiler puts the files in.
    private static Meter Meter => SharedMeter.Instance;

    private static class SharedMeter
    {
        public static readonly Meter Instance = new(MeterName);
    }
}
