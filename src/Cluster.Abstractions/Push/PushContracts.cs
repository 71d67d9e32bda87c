namespace Cluster.Abstractions.Push;

/// <summary>The push services a device can register with.</summary>
public enum PushKind
{
    /// <summary>Web Push (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID).</summary>
    WebPush,
}

/// <summary>
/// A device's push target, as it registered it (checked by the silo's push endpoints before it gets here). Holds the
/// device's own credentials only: the endpoint URL and, for Web Push, the keys the push body is encrypted to.
/// </summary>
[GenerateSerializer, Alias("PushSubscription")]
public sealed record PushSubscription(
    [property: Id(0)] PushKind Kind,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] byte[] P256dh,
    [property: Id(3)] byte[] Auth);

/// <summary>Why a wake-up goes out.</summary>
public enum PushReason
{
    /// <summary>Something was stored for the device.</summary>
    Message,

    /// <summary>A call rings the device (high priority, TTL within the ring timeout).</summary>
    CallOffer,

    /// <summary>The call that rang the device was answered elsewhere or ended: stop ringing.</summary>
    CallEnded,
}

/// <summary>One wake-up for the silo's push queue: the target and why (and, for calls, the call id); never any content, sender or key of a message.</summary>
[GenerateSerializer, Alias("PushRequest")]
public sealed record PushRequest(
    [property: Id(0)] string DeviceAddress,
    [property: Id(1)] PushSubscription Subscription,
    [property: Id(2)] PushReason Reason,
    [property: Id(3)] bool Urgent,
    [property: Id(4)] TimeSpan TimeToLive,
    [property: Id(5)] string? CallId = null);

/// <summary>The push side of a device grain (the same grain as <c>IDeviceGrain</c>, key <c>accountId.deviceId</c>).</summary>
[Alias("IDevicePushGrain")]
public interface IDevicePushGrain : IGrainWithStringKey
{
    /// <summary>Registers or replaces the device's push subscription (durable before it answers).</summary>
    [Alias("SetPushSubscription")]
    Task SetPushSubscriptionAsync(PushSubscription subscription);

    /// <summary>The device's push subscription, or null.</summary>
    [Alias("GetPushSubscription")]
    Task<PushSubscription?> GetPushSubscriptionAsync();

    /// <summary>
    /// Removes the device's push subscription; with <paramref name="onlyEndpoint"/>, only if it is still that one (a push
    /// service answered 404/410 for it, and the device may have registered a new one since). Also the hook for account
    /// and device deletion.
    /// </summary>
    [Alias("RemovePushSubscription")]
    Task RemovePushSubscriptionAsync(string? onlyEndpoint);

    /// <summary>
    /// A call offer did not reach the device's socket: rings it through its push subscription (high priority, TTL
    /// <paramref name="ringFor"/>), or, with <paramref name="ended"/>, tells it the call stopped ringing. Not coalesced.
    /// </summary>
    [Alias("PushCall")]
    Task PushCallAsync(string callId, TimeSpan ringFor, bool ended);
}
