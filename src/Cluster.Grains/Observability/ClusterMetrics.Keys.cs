using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Prekeys (DeviceGrain.Keys.cs).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Prekey bundles handed out, one per device.</summary>
    public static readonly Counter<long> PreKeyBundles = Meter.CreateCounter<long>("cluster_prekey_bundles_total", description: "Prekey bundles handed out, one per device");

    /// <summary>Bundles handed out without a one-time key of a kind (label <c>kind</c>: ec or kem).</summary>
    public static readonly Counter<long> PreKeysExhausted = Meter.CreateCounter<long>("cluster_prekeys_exhausted_total", description: "Bundles handed out with no one-time key of a kind left");

    /// <summary>Devices whose one-time key count dropped below the keysLow threshold.</summary>
    public static readonly Counter<long> PreKeysLow = Meter.CreateCounter<long>("cluster_prekeys_low_total", description: "Times a device's one-time key count dropped below the keysLow threshold");
}
