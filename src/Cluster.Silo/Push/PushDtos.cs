namespace Cluster.Silo.Push;

/// <summary><c>PUT /v1/push/subscription</c>: the device's own push target.</summary>
public sealed class PushSubscriptionRequest
{
    /// <summary><c>webPush</c>.</summary>
    public string? Kind { get; set; }

    /// <summary>The push service's endpoint URL (https).</summary>
    public string? Endpoint { get; set; }

    /// <summary>Web Push: the subscription's P-256 public key (65 bytes uncompressed), base64url as browsers give it.</summary>
    public string? P256dh { get; set; }

    /// <summary>Web Push: the 16-byte authentication secret, base64url.</summary>
    public string? Auth { get; set; }
}

/// <summary><c>GET /v1/push/subscriptions/{deviceId}</c>: whether the device has a push target, and of which kind (never its URL or keys).</summary>
public sealed record PushSubscriptionStatusResponse(int DeviceId, string Kind);
