using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cluster.Testing;

/// <summary>One push the local service accepted: its headers and the decrypted body.</summary>
public sealed record ReceivedPush(string Path, string? Ttl, string? Urgency, string? Topic, string? ContentEncoding, byte[] Body, byte[] Plaintext)
{
    public JsonObject Json => JsonNode.Parse(Plaintext)!.AsObject();
}

/// <summary>
/// A standards-checking Web Push service on loopback (Kestrel, port 0): each POST must carry a VAPID JWT (RFC 8292)
/// whose ES256 signature verifies with its <c>k</c> key, whose <c>aud</c> is this service's origin and whose
/// <c>exp</c> is within 24 hours; its <c>aes128gcm</c> body (RFC 8188/8291) is decrypted with the subscription's
/// private key, which only the test holds. A request that fails a check is answered 400 and recorded as a failure.
/// </summary>
public sealed class WebPushService : LocalPushService<ReceivedPush>
{
    private readonly ECDiffieHellman subscriptionKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
    private readonly TaskCompletionSource firstRequest = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WebPushService()
    {
        Auth = RandomNumberGenerator.GetBytes(16);
        var q = subscriptionKey.ExportParameters(false).Q;
        P256dh = [4, .. q.X!, .. q.Y!];
    }

    /// <summary>The subscription's public key (as a browser gives it in <c>p256dh</c>).</summary>
    public byte[] P256dh { get; }

    /// <summary>The subscription's auth secret.</summary>
    public byte[] Auth { get; }

    /// <summary>The endpoint a device registers.</summary>
    public string Endpoint => Origin + "/push/sub-1";

    /// <summary>The status the service answers a valid push with (201 by default; 410 to say the subscription is gone).</summary>
    public int Status { get; set; } = StatusCodes.Status201Created;

    /// <summary>Statuses to answer valid pushes with, in order (503 for a transient failure); <see cref="Status"/> once empty.</summary>
    public ConcurrentQueue<int> Statuses { get; } = new();

    /// <summary>While set and not completed, every request waits on it (a hung push service).</summary>
    public TaskCompletionSource? Hang { get; set; }

    /// <summary>Completes when the first request arrives, before it is checked or answered.</summary>
    public Task FirstRequest => firstRequest.Task;

    public JsonObject Subscription() => new()
    {
        ["kind"] = "webPush",
        ["endpoint"] = Endpoint,
        ["p256dh"] = B64(P256dh),
        ["auth"] = B64(Auth),
    };

    public static async Task<WebPushService> StartAsync()
    {
        var service = new WebPushService();
        await service.StartAsync(http2Only: false, app => app.MapPost("/push/{id}", service.HandleAsync));
        return service;
    }

    private async Task HandleAsync(HttpContext context)
    {
        firstRequest.TrySetResult();
        if (Hang is { } hang)
        {
            await hang.Task.WaitAsync(context.RequestAborted);
        }

        if (await HoldIfHungAsync(context))
        {
            return;
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var problem = CheckVapid(context.Request.Headers.Authorization.ToString());
        byte[]? plaintext = null;
        if (problem is null)
        {
            try
            {
                plaintext = Decrypt(body);
            }
            catch (CryptographicException ex)
            {
                problem = "body does not decrypt: " + ex.Message;
            }
        }

        if (problem is not null || plaintext is null)
        {
            Refuse(problem ?? "no body");
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        Accept(new ReceivedPush(
            context.Request.Path, context.Request.Headers["TTL"], context.Request.Headers["Urgency"], context.Request.Headers["Topic"], context.Request.Headers.ContentEncoding, body, plaintext));
        context.Response.StatusCode = Statuses.TryDequeue(out var status) ? status : Status;
    }

    private string? CheckVapid(string authorization)
    {
        // RFC 8292 §3: Authorization: vapid t=<JWT>, k=<base64url P-256 public key>
        if (!authorization.StartsWith("vapid ", StringComparison.Ordinal))
        {
            return "Authorization is not vapid";
        }

        var parts = authorization["vapid ".Length..].Split(',', StringSplitOptions.TrimEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var jwt = parts["t"].Split('.');
        var k = FromB64(parts["k"]);
        var header = JsonNode.Parse(FromB64(jwt[0]))!;
        if ((string?)header["alg"] != "ES256" || (string?)header["typ"] != "JWT")
        {
            return "JWT header is not ES256";
        }

        using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = k[1..33], Y = k[33..] } });
        if (!key.VerifyData(Encoding.ASCII.GetBytes(jwt[0] + "." + jwt[1]), FromB64(jwt[2]), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            return "JWT signature does not verify";
        }

        var claims = JsonNode.Parse(FromB64(jwt[1]))!;
        if ((string?)claims["aud"] != Origin)
        {
            return $"aud {(string?)claims["aud"]} is not {Origin}";
        }

        var exp = (long)claims["exp"]!;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (exp <= now || exp > now + (24 * 3600))
        {
            return "exp is not within 24 hours";
        }

        var sub = (string?)claims["sub"];
        return sub is not null && (sub.StartsWith("mailto:", StringComparison.Ordinal) || sub.StartsWith("https:", StringComparison.Ordinal)) ? null : "sub is missing";
    }

    /// <summary>RFC 8291 §3.4 and RFC 8188 §2, written from the RFCs on the receiving side.</summary>
    private byte[] Decrypt(byte[] body)
    {
        var salt = body[..16];
        var rs = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(16));
        int idlen = body[20];
        if (idlen != 65 || rs < 18 || body.Length - 21 - idlen > rs)
        {
            throw new CryptographicException("bad aes128gcm header");
        }

        var asPublic = body[21..(21 + idlen)];
        using var sender = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = asPublic[1..33], Y = asPublic[33..] } });
        var ecdhSecret = subscriptionKey.DeriveRawSecretAgreement(sender.PublicKey);
        var prkKey = HMACSHA256.HashData(Auth, ecdhSecret);
        byte[] keyInfo = [.. "WebPush: info\0"u8, .. P256dh, .. asPublic, 1];
        var ikm = HMACSHA256.HashData(prkKey, keyInfo);
        var prk = HMACSHA256.HashData(salt, ikm);
        byte[] cekInfo = [.. "Content-Encoding: aes128gcm\0"u8, 1];
        var cek = HMACSHA256.HashData(prk, cekInfo)[..16];
        byte[] nonceInfo = [.. "Content-Encoding: nonce\0"u8, 1];
        var nonce = HMACSHA256.HashData(prk, nonceInfo)[..12];
        var ciphertext = body[(21 + idlen)..];
        var record = new byte[ciphertext.Length - 16];
        using var aes = new AesGcm(cek, 16);
        aes.Decrypt(nonce, ciphertext[..^16], ciphertext[^16..], record);
        var end = Array.FindLastIndex(record, b => b != 0);
        if (end < 0 || record[end] != 2)
        {
            throw new CryptographicException("the last record has no 0x02 delimiter");
        }

        return record[..end];
    }

    /// <summary>Silo settings that turn Web Push on with a fresh VAPID key pair, loopback http allowed, and one worker (wake-ups go out in order).</summary>
    public static Dictionary<string, string> SiloSettings()
    {
        using var vapid = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = vapid.ExportParameters(true);
        return new Dictionary<string, string>
        {
            ["Push:WebPush:VapidSubject"] = "mailto:ops@example.org",
            ["Push:WebPush:VapidPublicKey"] = B64([4, .. parameters.Q.X!, .. parameters.Q.Y!]),
            ["Push:WebPush:VapidPrivateKey"] = B64(parameters.D!),
            ["Push:WebPush:AllowHttpLoopback"] = "true",
            ["Push:WebPush:Concurrency"] = "1",
        };
    }

    public static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromB64(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s + new string('=', (4 - (s.Length % 4)) % 4));
    }

    public override async ValueTask DisposeAsync()
    {
        Hang?.TrySetResult();
        await base.DisposeAsync();
        subscriptionKey.Dispose();
    }
}
