namespace Cluster.Grains.Devices;

/// <summary>
/// A device grain's persisted inbox state (<c>inbox</c>): changed by BeginIncarnationAsync and RemoveAsync (DeviceGrain.cs),
/// DropOldestAsync (DeviceGrain.Inbox.cs) and AttachAsync (DeviceGrain.Delivery.cs).
/// </summary>
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
