using System.Security.Cryptography;
using System.Text;

namespace Cluster.Silo.Push;

/// <summary>
/// VAPID (RFC 8292): the ES256 JWT naming the push service's origin as <c>aud</c>, and the <c>Authorization: vapid t=…, k=…</c>
/// header. Holds no state; the key comes from <see cref="WebPushOptions"/>.
/// </summary>
internal static class Vapid
{
    /// <summary>How long a VAPID token is valid (RFC 8292 allows at most 24 hours).</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(12);

    public static ECDsa CreateKey(WebPushOptions options)
    {
        var q = Base64Url.Decode(options.VapidPublicKey ?? "");
        var d = Base64Url.Decode(options.VapidPrivateKey ?? "");
        if (q.Length != 65 || q[0] != 4 || d.Length != 32)
        {
            throw new FormatException("not a P-256 key pair");
        }

        var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = q[1..33], Y = q[33..] },
            D = d,
        });

        // The pair must match: a signature by the private key verifies with the public one.
        var probe = key.SignData("vapid"u8, HashAlgorithmName.SHA256);
        using var pub = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = q[1..33], Y = q[33..] } });
        if (!pub.VerifyData("vapid"u8, probe, HashAlgorithmName.SHA256))
        {
            key.Dispose();
            throw new CryptographicException("the VAPID keys do not match");
        }

        return key;
    }

    /// <summary>The header value for a request to <paramref name="endpoint"/>.</summary>
    public static string Authorization(ECDsa key, string publicKey, string subject, Uri endpoint, DateTimeOffset now)
    {
        var audience = endpoint.GetLeftPart(UriPartial.Authority);
        var header = Base64Url.Encode("{\"typ\":\"JWT\",\"alg\":\"ES256\"}"u8);
        var claims = Base64Url.Encode(Encoding.UTF8.GetBytes(
            $"{{\"aud\":{Json(audience)},\"exp\":{(now + TokenLifetime).ToUnixTimeSeconds()},\"sub\":{Json(subject)}}}"));
        var signingInput = header + "." + claims;
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"vapid t={signingInput}.{Base64Url.Encode(signature)}, k={publicKey}";
    }

    private static string Json(string value) => "\"" + System.Text.Json.JsonEncodedText.Encode(value).Value + "\"";
}
