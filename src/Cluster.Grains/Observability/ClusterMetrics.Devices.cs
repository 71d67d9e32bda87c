using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Device grains (DeviceGrain.cs).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Device grains active on this silo (a device's grain is active while its device is connected, and for a while after any call).</summary>
    public static readonly ObservableUpDownCounter<long> DeviceGrainsActive = Meter.CreateObservableUpDownCounter(
        "cluster_device_grains_active", () => Interlocked.Read(ref deviceGrainsActive), unit: "{grain}",
        description: "Device grains active on this silo");

    private static long deviceGrainsActive;

    /// <summary>Device grains that arrived on another silo with their socket attached (moved there to be near it).</summary>
    public static readonly Counter<long> DeviceGrainsMoved = Meter.CreateCounter<long>("cluster_device_grains_moved_total", description: "Device grains that moved to the silo of their socket");

    /// <summary>Counts a device grain's activation (+1) or deactivation (-1) in <see cref="DeviceGrainsActive"/>.</summary>
    internal static void AddDeviceGrains(long delta) => Interlocked.Add(ref deviceGrainsActive, delta);
}
