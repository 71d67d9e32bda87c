using Cluster.Abstractions.Keys;

namespace Cluster.Grains.Devices;

[GenerateSerializer, Alias("DeviceKeysState")]
internal sealed class DeviceKeysState
{
    [Id(0)] public SignedPreKey? SignedPreKey { get; set; }

    [Id(1)] public SignedPreKey? KemLastResortKey { get; set; }

    [Id(2)] public List<PreKey> OneTimePreKeys { get; set; } = [];

    [Id(3)] public List<SignedPreKey> KemOneTimeKeys { get; set; } = [];
}

[GenerateSerializer, Alias("DeviceInboxState")]
internal sealed class DeviceInboxState
{
    /// <summary>Envelopes dropped for the quota since the device last connected: it is told on its next connection.</summary>
    [Id(0)] public long DroppedSinceConnected { get; set; }

    /// <summary>The incarnation of the device holding this id (empty: a device stored before incarnations existed); only its sockets attach.</summary>
    [Id(1)] public Guid Incarnation { get; set; }

    /// <summary>The device was removed and no device has been given its id since: no socket attaches.</summary>
    [Id(2)] public bool Removed { get; set; }
}
