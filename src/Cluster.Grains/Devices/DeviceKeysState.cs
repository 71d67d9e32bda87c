using Cluster.Abstractions.Keys;

namespace Cluster.Grains.Devices;

/// <summary>A device grain's persisted prekeys (<c>keys</c>): changed only under keysLock, in DeviceGrain.Keys.cs.</summary>
[GenerateSerializer, Alias("DeviceKeysState")]
internal sealed class DeviceKeysState
{
    [Id(0)] public SignedPreKey? SignedPreKey { get; set; }

    [Id(1)] public SignedPreKey? KemLastResortKey { get; set; }

    [Id(2)] public List<PreKey> OneTimePreKeys { get; set; } = [];

    [Id(3)] public List<SignedPreKey> KemOneTimeKeys { get; set; } = [];
}
