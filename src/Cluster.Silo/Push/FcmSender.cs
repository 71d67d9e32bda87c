using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Cluster.Abstractions.Push;
using Cluster.Grains;

namespace Cluster.Silo.Push;

/// <summary>
/// Sends a wake-up through FCM HTTP v1: <c>POST {Endpoint}/v1/projects/{project}/messages:send</c> with a data-only
/// message (<see cref="Body"/>: no notification, no content, sender or key of any message), Android priority
/// <c>high</c> for calls and urgent sends, and the wake-up's TTL. Authorizes with an OAuth 2.0 access token obtained by
/// a service-account JWT (RS256) at the key's token endpoint and cached until five minutes before it expires (a 401
/// drops it). Holds that token (changed under <c>tokenLock</c>) and its HTTP client; each request is bounded by
/// <see cref="FcmOptions.Timeout"/>. 404 or <c>UNREGISTERED</c>: the token is gone.
/// </summary>
internal sealed partial class FcmSender : IPushSender, IDisposable
{
    private const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    /// <summary>How long before its expiry a cached access token is replaced.</summary>
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    private readonly FcmOptions options;
    private readonly FcmServiceAccount? account;
    private readonly HttpClient http;
    private readonly TimeProvider time;
    private readonly ILogger<FcmSender> logger;
    private readonly SemaphoreSlim tokenLock = new(1, 1);
    private readonly Uri? sendUri;

    // The cached access token and when it stops being used: set by AccessTokenAsync under tokenLock, cleared by a 401.
    private (string Token, DateTimeOffset Until)? accessToken;

    public FcmSender(IOptions<FcmOptions> options, [FromKeyedServices(ClusterClock.Key)] TimeProvider time, ILogger<FcmSender> logger)
    {
        this.options = options.Value;
        this.time = time;
        this.logger = logger;
        if (this.options.Enabled)
        {
            // FcmOptions validated the key at start; a file changed since then stops the sender here, naming the setting.
            if (FcmServiceAccount.TryLoad(this.options, out account) is { } problem)
            {
                throw new InvalidOperationException(problem);
            }

            sendUri = new Uri(this.options.Endpoint, $"/v1/projects/{Uri.EscapeDataString(account!.ProjectId)}/messages:send");
        }

        http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    public PushKind Kind => PushKind.Fcm;

    public bool Enabled => account is not null;

    /// <summary>
    /// The FCM message: <c>{"message":{"token":…,"data":{"v":"1","kind":"wake"|"call"|"callEnded"[,"callId":…]},
    /// "android":{"priority":"high"|"normal","ttl":"&lt;seconds&gt;s","collapse_key":"wake"|"call"}}}</c>.
    /// </summary>
    public static byte[] Body(PushRequest request)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("message"u8);
            writer.WriteString("token"u8, request.Subscription.Endpoint);
            writer.WriteStartObject("data"u8);
            writer.WriteString("v"u8, "1"u8);
            writer.WriteString("kind"u8, PushPayload.KindName(request.Reason));
            if (request.CallId is { } callId)
            {
                writer.WriteString("callId"u8, callId);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("android"u8);
            writer.WriteString("priority"u8, request.Urgent ? "high"u8 : "normal"u8);
            writer.WriteString("ttl"u8, ((long)request.TimeToLive.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s");
            writer.WriteString("collapse_key"u8, request.Reason == PushReason.Message ? "wake"u8 : "call"u8);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public async Task<PushOutcome> SendAsync(PushRequest request, CancellationToken cancellationToken)
    {
        var (token, refused) = await AccessTokenAsync(cancellationToken);
        if (token is null)
        {
            return refused;
        }

        using var message = new HttpRequestMessage(HttpMethod.Post, sendUri) { Content = new ByteArrayContent(Body(request)) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await PushHttp.SendAsync(http, message, options.Timeout, async (response, ct) =>
        {
            var status = (int)response.StatusCode;
            switch (status)
            {
                case 401:
                    // The token was revoked or expired early: the next attempt fetches a new one.
                    await ForgetTokenAsync(token);
                    return PushOutcome.Transient;
                case 404:
                    return PushOutcome.Gone;
                case 400:
                    using (var error = await PushHttp.ReadErrorAsync(response, ct))
                    {
                        return ErrorCode(error) == "UNREGISTERED" ? PushOutcome.Gone : PushOutcome.Failed;
                    }

                default:
                    return PushHttp.ByStatus(status);
            }
        }, cancellationToken);
    }

    public void Dispose()
    {
        http.Dispose();
        account?.Dispose();
        tokenLock.Dispose();
    }

    /// <summary><c>error.details[].errorCode</c> of an FCM error (google.firebase.fcm.v1.FcmError), or null.</summary>
    private static string? ErrorCode(JsonDocument? error)
    {
        if (error is null || error.RootElement.ValueKind != JsonValueKind.Object
            || !error.RootElement.TryGetProperty("error"u8, out var body) || body.ValueKind != JsonValueKind.Object
            || !body.TryGetProperty("details"u8, out var details) || details.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var detail in details.EnumerateArray())
        {
            if (detail.ValueKind == JsonValueKind.Object && detail.TryGetProperty("errorCode"u8, out var code) && code.ValueKind == JsonValueKind.String)
            {
                return code.GetString();
            }
        }

        return null;
    }

    /// <summary>The cached access token, or a fresh one; null with the outcome when the token endpoint refused or failed.</summary>
    private async Task<(string? Token, PushOutcome Refused)> AccessTokenAsync(CancellationToken cancellationToken)
    {
        await tokenLock.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            if (accessToken is { } cached && now < cached.Until)
            {
                return (cached.Token, PushOutcome.Sent);
            }

            accessToken = null;
            using var message = new HttpRequestMessage(HttpMethod.Post, account!.TokenUri)
            {
                Content = new FormUrlEncodedContent(
                [
                    new("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    new("assertion", Assertion(now)),
                ]),
            };
            var outcome = await PushHttp.SendAsync(http, message, options.Timeout, async (response, ct) =>
            {
                var status = (int)response.StatusCode;
                using var body = await PushHttp.ReadErrorAsync(response, ct);
                if (status is >= 200 and < 300 && body?.RootElement is { ValueKind: JsonValueKind.Object } root
                    && root.TryGetProperty("access_token"u8, out var token) && token.ValueKind == JsonValueKind.String
                    && root.TryGetProperty("expires_in"u8, out var expires) && expires.TryGetInt64(out var seconds))
                {
                    accessToken = (token.GetString()!, now + TimeSpan.FromSeconds(Math.Clamp(seconds, 60, 86_400)) - RefreshMargin);
                    return PushOutcome.Sent;
                }

                LogTokenRefused(logger, status);
                return status is >= 200 and < 300 ? PushOutcome.Failed : PushHttp.ByStatus(status);
            }, cancellationToken);
            return accessToken is { } fresh ? (fresh.Token, PushOutcome.Sent) : (null, outcome);
        }
        finally
        {
            tokenLock.Release();
        }
    }

    private async Task ForgetTokenAsync(string token)
    {
        await tokenLock.WaitAsync();
        try
        {
            if (accessToken?.Token == token)
            {
                accessToken = null;
            }
        }
        finally
        {
            tokenLock.Release();
        }
    }

    /// <summary>The service-account JWT (RFC 7523) Google's token endpoint exchanges for an access token: RS256, an hour.</summary>
    private string Assertion(DateTimeOffset now) => Jwt.Create(
        header =>
        {
            header.WriteString("alg"u8, "RS256"u8);
            header.WriteString("typ"u8, "JWT"u8);
            if (account!.PrivateKeyId is { } kid)
            {
                header.WriteString("kid"u8, kid);
            }
        },
        claims =>
        {
            claims.WriteString("iss"u8, account!.ClientEmail);
            claims.WriteString("scope"u8, Scope);
            claims.WriteString("aud"u8, account.TokenUri.ToString());
            claims.WriteNumber("iat"u8, now.ToUnixTimeSeconds());
            claims.WriteNumber("exp"u8, now.ToUnixTimeSeconds() + 3600);
        },
        input => account!.Key.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    [LoggerMessage(Level = LogLevel.Warning, Message = "The FCM token endpoint refused the service account assertion with status {Status}")]
    private static partial void LogTokenRefused(ILogger logger, int status);
}
