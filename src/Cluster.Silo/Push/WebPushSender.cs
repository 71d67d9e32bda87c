using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Cluster.Abstractions.Push;
using Cluster.Grains;

namespace Cluster.Silo.Push;

/// <summary>
/// Sends a Web Push wake-up (RFC 8030 POST to the subscription's endpoint, RFC 8291 <c>aes128gcm</c> body, RFC 8292
/// VAPID). The body is <c>{"v":1,"kind":"wake"}</c> (or a call's id, see <see cref="Body"/>) only: no content, sender or key of any message. Owns its HTTP
/// client, which connects through <see cref="PushAddressPolicy"/> and follows no redirect; each request is bounded by
/// <see cref="WebPushOptions.Timeout"/>. Disposed with the silo.
/// </summary>
internal sealed class WebPushSender : IPushSender, IDisposable
{
    private static readonly byte[] WakeBody = "{\"v\":1,\"kind\":\"wake\"}"u8.ToArray();

    /// <summary>The body: <c>{"v":1,"kind":"wake"}</c>, or for calls <c>{"v":1,"kind":"call"|"callEnded","callId":"…"}</c>.</summary>
    public static byte[] Body(PushRequest request) => request.Reason switch
    {
        PushReason.Message => WakeBody,
        _ => System.Text.Encoding.UTF8.GetBytes(
            $"{{\"v\":1,\"kind\":\"{(request.Reason == PushReason.CallOffer ? "call" : "callEnded")}\",\"callId\":\"{System.Text.Json.JsonEncodedText.Encode(request.CallId ?? "").Value}\"}}"),
    };

    /// <summary>The Web Push <c>Topic</c> of a call's pushes (RFC 8030 §5.4: at most 32 base64url characters), so the cancel replaces a ring still waiting at the push service.</summary>
    private static string CallTopic(string callId) => Base64Url.Encode(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(callId)).AsSpan(0, 24));

    private readonly WebPushOptions options;
    private readonly ECDsa key;
    private readonly HttpClient http;
    private readonly TimeProvider time;

    public WebPushSender(IOptions<WebPushOptions> options, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
    {
        this.options = options.Value;
        this.time = time;
        key = this.options.Enabled ? Vapid.CreateKey(this.options) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var policy = new PushAddressPolicy(this.options);
        http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = policy.ConnectAsync,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            UseProxy = false,
        })
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    public PushKind Kind => PushKind.WebPush;

    public async Task<PushOutcome> SendAsync(PushRequest request, CancellationToken cancellationToken)
    {
        var subscription = request.Subscription;
        var endpoint = new Uri(subscription.Endpoint);
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new ByteArrayContent(WebPushEncryption.Encrypt(Body(request), subscription.P256dh, subscription.Auth)),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        message.Content.Headers.ContentEncoding.Add("aes128gcm");
        message.Headers.TryAddWithoutValidation("TTL", ((long)request.TimeToLive.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        message.Headers.TryAddWithoutValidation("Urgency", request.Urgent ? "high" : "normal");
        if (request.CallId is { } callId)
        {
            message.Headers.TryAddWithoutValidation("Topic", CallTopic(callId));
        }

        message.Headers.TryAddWithoutValidation("Authorization", Vapid.Authorization(key, options.VapidPublicKey!, options.VapidSubject!, endpoint, time.GetUtcNow()));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return Classify(response.StatusCode);
        }
        catch (HttpRequestException ex) when (ex.InnerException is PushAddressRefusedException)
        {
            return PushOutcome.Blocked;
        }
        catch (HttpRequestException)
        {
            return PushOutcome.Transient;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return PushOutcome.Transient;
        }
    }

    public void Dispose()
    {
        http.Dispose();
        key.Dispose();
    }

    private static PushOutcome Classify(HttpStatusCode status) => (int)status switch
    {
        >= 200 and < 300 => PushOutcome.Sent,
        404 or 410 => PushOutcome.Gone,
        429 or >= 500 => PushOutcome.Transient,
        _ => PushOutcome.Failed,
    };
}
