using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Cluster.Abstractions.Push;
using Cluster.Grains;

namespace Cluster.Silo.Push;

/// <summary>
/// Sends a wake-up through APNs with token-based authentication: HTTP/2 <c>POST {Endpoint}/3/device/{token}</c> with
/// <c>authorization: bearer</c> (<see cref="ApnsProviderToken"/>), <c>apns-push-type</c>, <c>apns-priority</c>,
/// <c>apns-expiration</c> (now + the wake-up's TTL) and <c>apns-topic</c>. The kinds (docs/push.md says why):
/// a message is an <c>alert</c> with <c>mutable-content</c> and a fixed localization key (the app's notification
/// service extension fetches and decrypts; a <c>background</c> push is throttled to a few an hour and not delivered to
/// a force-quit app), priority 10 when urgent, 5 otherwise; a call rings as <c>voip</c> (topic <c>.voip</c>, priority
/// 10) to the PushKit token when the device gave one, else as a priority-10 alert; a call's end is a <c>background</c>
/// push (priority 5, as Apple requires), never <c>voip</c>, because iOS makes the app report every VoIP push as a new
/// incoming call. No push carries any content, sender or key. 410, or 400 <c>BadDeviceToken</c>: the token is gone.
/// Owns its HTTP client (HTTP/2 only; on an <c>http</c> endpoint, as the tests' fake, that is h2c with prior
/// knowledge); each request is bounded by <see cref="ApnsOptions.Timeout"/>.
/// </summary>
internal sealed class ApnsSender : IPushSender, IDisposable
{
    private readonly ApnsOptions options;
    private readonly ApnsProviderToken? providerToken;
    private readonly HttpClient http;
    private readonly TimeProvider time;

    public ApnsSender(IOptions<ApnsOptions> options, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
    {
        this.options = options.Value;
        this.time = time;
        providerToken = this.options.Enabled ? new ApnsProviderToken(this.options) : null;
        http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            EnableMultipleHttp2Connections = true,
            PooledConnectionLifetime = TimeSpan.FromMinutes(30),
        })
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    public PushKind Kind => PushKind.Apns;

    public bool Enabled => providerToken is not null;

    /// <summary>How one wake-up goes to APNs: which token, push type, priority and topic suffix.</summary>
    public static (string DeviceToken, string PushType, int Priority, bool Voip) Route(PushRequest request) => request.Reason switch
    {
        PushReason.CallOffer when request.Subscription.VoipToken is { } voip => (voip, "voip", 10, true),
        PushReason.CallOffer => (request.Subscription.Endpoint, "alert", 10, false),
        PushReason.CallEnded => (request.Subscription.Endpoint, "background", 5, false),
        _ => (request.Subscription.Endpoint, "alert", request.Urgent ? 10 : 5, false),
    };

    /// <summary>
    /// The payload: a voip ring <c>{"v":1,"kind":"call","callId":…}</c>; an alert <c>{"aps":{"alert":{"loc-key":
    /// "PUSH_WAKE"|"PUSH_CALL"},"mutable-content":1[,"sound":"default"]},"v":1,"kind":…}</c>; a call's end
    /// <c>{"aps":{"content-available":1},"v":1,"kind":"callEnded","callId":…}</c>.
    /// </summary>
    public static byte[] Body(PushRequest request)
    {
        var route = Route(request);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (!route.Voip)
            {
                writer.WriteStartObject("aps"u8);
                if (route.PushType == "background")
                {
                    writer.WriteNumber("content-available"u8, 1);
                }
                else
                {
                    writer.WriteStartObject("alert"u8);
                    writer.WriteString("loc-key"u8, request.Reason == PushReason.CallOffer ? "PUSH_CALL"u8 : "PUSH_WAKE"u8);
                    writer.WriteEndObject();
                    writer.WriteNumber("mutable-content"u8, 1);
                    if (request.Reason == PushReason.CallOffer)
                    {
                        writer.WriteString("sound"u8, "default"u8);
                    }
                }

                writer.WriteEndObject();
            }

            writer.WriteNumber("v"u8, 1);
            writer.WriteString("kind"u8, PushPayload.KindName(request.Reason));
            if (request.CallId is { } callId)
            {
                writer.WriteString("callId"u8, callId);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public async Task<PushOutcome> SendAsync(PushRequest request, CancellationToken cancellationToken)
    {
        var route = Route(request);
        var now = time.GetUtcNow();
        var bearer = providerToken!.Current(now);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(options.Endpoint, "/3/device/" + route.DeviceToken))
        {
            Content = new ByteArrayContent(Body(request)),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        message.Headers.Authorization = new AuthenticationHeaderValue("bearer", bearer);
        message.Headers.TryAddWithoutValidation("apns-push-type", route.PushType);
        message.Headers.TryAddWithoutValidation("apns-priority", route.Priority.ToString(CultureInfo.InvariantCulture));
        message.Headers.TryAddWithoutValidation("apns-topic", route.Voip ? options.Topic + ".voip" : options.Topic);
        var expiration = request.TimeToLive <= TimeSpan.Zero ? 0 : (now + request.TimeToLive).ToUnixTimeSeconds();
        message.Headers.TryAddWithoutValidation("apns-expiration", expiration.ToString(CultureInfo.InvariantCulture));
        if (request.CallId is { } callId && !route.Voip)
        {
            message.Headers.TryAddWithoutValidation("apns-collapse-id", PushPayload.CallTopic(callId));
        }

        return await PushHttp.SendAsync(http, message, options.Timeout, async (response, ct) =>
        {
            var status = (int)response.StatusCode;
            if (status is not (400 or 403))
            {
                return status == 410 ? PushOutcome.Gone : PushHttp.ByStatus(status);
            }

            using var error = await PushHttp.ReadErrorAsync(response, ct);
            var reason = error?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("reason"u8, out var r) && r.ValueKind == JsonValueKind.String
                ? r.GetString()
                : null;
            switch (reason)
            {
                case "BadDeviceToken" when status == 400:
                    return PushOutcome.Gone;
                case "ExpiredProviderToken" when status == 403:
                    providerToken.Expire(bearer);
                    return PushOutcome.Transient;
                default:
                    return PushOutcome.Failed;
            }
        }, cancellationToken);
    }

    public void Dispose()
    {
        http.Dispose();
        providerToken?.Dispose();
    }
}
