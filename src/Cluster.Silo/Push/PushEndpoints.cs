using System.Globalization;
using Cluster.Abstractions.Push;
using Cluster.Abstractions;
using Cluster.Silo.Authentication;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Push;

/// <summary>
/// <c>PUT</c>/<c>DELETE /v1/push/subscription</c> (the calling device's own push target only) and
/// <c>GET /v1/push/subscriptions/{deviceId}</c> (the primary asks whether a device of its account has one: the kind,
/// never the URL or keys). Owns no state: checks the input (<see cref="PushAddressPolicy"/> for the URL), then the
/// device grain stores it. A kind the deployment did not configure is refused (400 <c>push_kind_unavailable</c>).
/// </summary>
internal static class PushEndpoints
{
    private const string WebPushKind = "webPush";
    private const string FcmKind = "fcm";
    private const string ApnsKind = "apns";

    /// <summary>An APNs token's bounds in bytes (Apple: variable length, 32 today; do not hard-code it).</summary>
    private const int MinApnsTokenBytes = 32;
    private const int MaxApnsTokenBytes = 100;

    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPut("/push/subscription", SetAsync).Operation("setPushSubscription", "Push", "Set this device's Web Push subscription").Accepts<PushSubscriptionRequest>().ReturnsNothing().Errors().RequireAuthorization();
        v1.MapDelete("/push/subscription", RemoveAsync).Operation("removePushSubscription", "Push", "Remove this device's push subscription").ReturnsNothing().Errors().RequireAuthorization();
        v1.MapGet("/push/subscriptions/{deviceId}", GetAsync).Operation("getPushSubscription", "Push", "Whether a device of the account has a push subscription (primary only)").Returns<PushSubscriptionStatusResponse>().Errors(400, 403, 404).RequireAuthorization();
    }

    private static async Task<IResult> SetAsync(HttpContext context, IGrainFactory grains, IOptions<WebPushOptions> webPush, IOptions<FcmOptions> fcm, IOptions<ApnsOptions> apns)
    {
        var device = context.Device();
        JsonBody.LimitBody(context, 8 * 1024 + fcm.Value.MaxTokenLength);
        var request = await JsonBody.ReadAsync(context, ProtocolJson.Default.PushSubscriptionRequest);
        var kind = request.Kind ?? throw ApiException.MissingField("kind");
        var enabled = kind switch
        {
            WebPushKind => webPush.Value.Enabled,
            FcmKind => fcm.Value.Enabled,
            ApnsKind => apns.Value.Enabled,
            _ => throw ApiException.InvalidField("kind", "must be webPush, fcm or apns"),
        };
        if (!enabled)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "push_kind_unavailable", $"this server does not send {kind} notifications", "kind");
        }

        var subscription = kind switch
        {
            WebPushKind => WebPush(request, webPush.Value),
            FcmKind => new PushSubscription(PushKind.Fcm, FcmToken(request.Token, fcm.Value.MaxTokenLength), [], []),
            _ => Apns(request),
        };
        await grains.GetGrain<IDevicePushGrain>(device.Address.GrainKey).SetPushSubscriptionAsync(subscription);
        return Results.NoContent();
    }

    private static PushSubscription WebPush(PushSubscriptionRequest request, WebPushOptions options)
    {
        var endpoint = request.Endpoint ?? throw ApiException.MissingField("endpoint");
        if (new PushAddressPolicy(options).Check(endpoint) is { } problem)
        {
            throw ApiException.InvalidField("endpoint", problem);
        }

        var p256dh = Key(request.P256dh, "p256dh", 65);
        if (p256dh[0] != 4 || !IsOnCurve(p256dh))
        {
            throw ApiException.InvalidField("p256dh", "must be an uncompressed P-256 public key");
        }

        return new PushSubscription(PushKind.WebPush, endpoint, p256dh, Key(request.Auth, "auth", 16));
    }

    private static PushSubscription Apns(PushSubscriptionRequest request) =>
        new(PushKind.Apns, ApnsToken(request.Token ?? throw ApiException.MissingField("token"), "token"), [], [],
            request.VoipToken is { } voip ? ApnsToken(voip, "voipToken") : null);

    /// <summary>An FCM registration token: opaque, URL-safe characters (letters, digits, <c>-_:.</c>), at most the option's length.</summary>
    private static string FcmToken(string? token, int maxLength)
    {
        var text = token ?? throw ApiException.MissingField("token");
        if (text.Length < 32 || text.Length > maxLength)
        {
            throw ApiException.InvalidField("token", $"must be an FCM registration token of 32 to {maxLength} characters");
        }

        foreach (var c in text)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or ':' or '.'))
            {
                throw ApiException.InvalidField("token", "must be an FCM registration token (letters, digits, '-', '_', ':', '.')");
            }
        }

        return text;
    }

    /// <summary>An APNs device token: hex of 32 to 100 bytes, kept in lowercase.</summary>
    private static string ApnsToken(string token, string field)
    {
        if (token.Length < MinApnsTokenBytes * 2 || token.Length > MaxApnsTokenBytes * 2 || token.Length % 2 != 0 || !token.All(char.IsAsciiHexDigit))
        {
            throw ApiException.InvalidField(field, $"must be an APNs device token: hex of {MinApnsTokenBytes} to {MaxApnsTokenBytes} bytes");
        }

        return token.ToLowerInvariant();
    }

    private static async Task<IResult> RemoveAsync(HttpContext context, IGrainFactory grains)
    {
        await grains.GetGrain<IDevicePushGrain>(context.Device().Address.GrainKey).RemovePushSubscriptionAsync(null);
        return Results.NoContent();
    }

    private static async Task<IResult> GetAsync(HttpContext context, string deviceId, IGrainFactory grains)
    {
        var device = context.Device();
        if (!device.Address.IsPrimary)
        {
            throw ApiException.Forbidden("only the primary device may do this");
        }

        if (!int.TryParse(deviceId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1)
        {
            throw ApiException.InvalidField("deviceId", "must be a device id of 1 or more");
        }

        var subscription = await grains.GetGrain<IDevicePushGrain>(new DeviceAddress(device.Address.AccountId, id).GrainKey).GetPushSubscriptionAsync();
        return subscription is null
            ? throw ApiException.NotFound("push subscription")
            : Results.Json(new PushSubscriptionStatusResponse(id, KindName(subscription.Kind)), ProtocolJson.Default.PushSubscriptionStatusResponse);
    }

    private static string KindName(PushKind kind) => kind switch
    {
        PushKind.Fcm => FcmKind,
        PushKind.Apns => ApnsKind,
        _ => WebPushKind,
    };

    private static byte[] Key(string? value, string field, int length)
    {
        var text = value ?? throw ApiException.MissingField(field);
        byte[] bytes;
        try
        {
            bytes = text.Length <= 128 ? Base64Url.Decode(text) : [];
        }
        catch (FormatException)
        {
            bytes = [];
        }

        return bytes.Length == length ? bytes : throw ApiException.InvalidField(field, $"must be {length} bytes, base64url");
    }

    private static bool IsOnCurve(byte[] point)
    {
        try
        {
            using var key = System.Security.Cryptography.ECDiffieHellman.Create(new System.Security.Cryptography.ECParameters
            {
                Curve = System.Security.Cryptography.ECCurve.NamedCurves.nistP256,
                Q = new System.Security.Cryptography.ECPoint { X = point[1..33], Y = point[33..] },
            });
            return true;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }
}
