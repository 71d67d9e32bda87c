using System.Text;
using System.Text.Json;

namespace Cluster.Silo.Push;

/// <summary>
/// Compact JWS (RFC 7515) of a JSON header and claims set, as the push providers take them: VAPID and APNs (ES256,
/// the raw r||s signature of RFC 7518 §3.4) and Google's service-account assertion (RS256). Holds no state.
/// </summary>
internal static class Jwt
{
    /// <summary>Writes <c>base64url(header).base64url(claims).base64url(sign(signing input))</c>.</summary>
    public static string Create(Action<Utf8JsonWriter> header, Action<Utf8JsonWriter> claims, Func<byte[], byte[]> sign)
    {
        var signingInput = Part(header) + "." + Part(claims);
        return signingInput + "." + Base64Url.Encode(sign(Encoding.ASCII.GetBytes(signingInput)));
    }

    private static string Part(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return Base64Url.Encode(buffer.WrittenSpan);
    }
}
