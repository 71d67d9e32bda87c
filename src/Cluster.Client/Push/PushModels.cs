namespace Cluster.Client.Push;

/// <summary>
/// A Web Push subscription as a browser's <c>PushSubscription.toJSON()</c> gives it: the push service's endpoint, and
/// the subscription's keys (base64url) that the server encrypts the content-free wake-ups to.
/// </summary>
public sealed record WebPushSubscription(string Endpoint, string P256dh, string Auth)
{
    /// <summary>The kind on the wire.</summary>
    public string Kind { get; init; } = "webPush";
}

/// <summary>Whether a device of the account has a push subscription, and of which kind (never its URL or keys).</summary>
public sealed record PushSubscriptionStatus(int DeviceId, string Kind);
