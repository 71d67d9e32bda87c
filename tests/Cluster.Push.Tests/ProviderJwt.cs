using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Push.Tests;

/// <summary>A compact JWS split for checking, written from RFC 7515 on the receiving side: header, claims, signing input and signature.</summary>
internal sealed record ProviderJwt(JsonObject Header, JsonObject Claims, byte[] SigningInput, byte[] Signature, string Text)
{
    /// <summary>Splits <paramref name="jwt"/>, or null when it is not three base64url parts of which the first two are JSON objects.</summary>
    public static ProviderJwt? Parse(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(WebPushService.FromB64(parts[0])) is JsonObject header && JsonNode.Parse(WebPushService.FromB64(parts[1])) is JsonObject claims
                ? new ProviderJwt(header, claims, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), WebPushService.FromB64(parts[2]), jwt)
                : null;
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
