using Cluster.Abstractions.Push;

namespace Cluster.Grains.Devices;

/// <summary>A device grain's persisted push subscription (<c>push</c>): changed only in DeviceGrain.Push.cs.</summary>
[GenerateSerializer, Alias("DevicePushState")]
internal sealed class DevicePushState
{
    [Id(0)] public PushSubscription? Subscription { get; set; }
}
