using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cluster.Signal;

namespace Cluster.Testing;

/// <summary>The companion side of linking, as a client does it: ADV signatures made with real XEdDSA.</summary>
public static class Linking
{
    /// <summary>A link token from the primary.</summary>
    public static async Task<string> TokenAsync(TestSilo silo, TestDevice primary)
    {
        using var http = primary.CreateClient(silo);
        using var response = await http.PostAsync("/v1/devices/link-token", null);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return response.IsSuccessStatusCode
            ? (string)body!["token"]!
            : throw new InvalidOperationException($"link token refused: {(int)response.StatusCode} {body}");
    }

    /// <summary>A link request for a new companion of <paramref name="primary"/>'s account, correctly signed.</summary>
    public static (TestDevice Companion, JsonObject Body) NewRequest(TestDevice primary, string token, long keyIndex, Action<LinkParts>? tamper = null)
    {
        var companion = new TestDevice(primary.AccountId, 0, TestAccounts.NewPassword(), ECKeyPair.Generate(), RandomNumberGenerator.GetInt32(1, 16381));
        var parts = new LinkParts
        {
            MetadataAccountId = primary.AccountId,
            MetadataKeyIndex = (uint)keyIndex,
            AccountSigner = primary.Identity,
            DeviceSigner = companion.Identity,
        };
        tamper?.Invoke(parts);
        var companionKey = companion.Identity.PublicKey.ToArray();
        var metadata = new LinkingMetadata(parts.MetadataAccountId, parts.MetadataKeyIndex, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).ToBytes();
        var accountSignature = parts.AccountSigner.Sign(AdvSignatures.AccountMessage(metadata, companionKey));
        var deviceSignature = parts.DeviceSigner.Sign(AdvSignatures.DeviceMessage(metadata, companionKey, primary.Identity.PublicKey.Span));
        var body = new JsonObject
        {
            ["accountId"] = primary.AccountId,
            ["token"] = token,
            ["password"] = companion.Password,
            ["registrationId"] = companion.RegistrationId,
            ["name"] = "laptop",
            ["identityKey"] = Convert.ToBase64String(companionKey),
            ["keyIndex"] = keyIndex,
            ["linkingMetadata"] = Convert.ToBase64String(metadata),
            ["accountSignature"] = Convert.ToBase64String(accountSignature),
            ["deviceSignature"] = Convert.ToBase64String(deviceSignature),
            ["signedPreKey"] = TestAccounts.SignedEcPreKey(companion.Identity, 1),
            ["kemLastResortKey"] = TestAccounts.KemPreKey(companion.Identity, 1),
            ["oneTimePreKeys"] = TestAccounts.OneTimePreKeys(100, 5),
        };
        return (companion, body);
    }

    /// <summary>Links a companion through the HTTP API and returns it with its device id.</summary>
    public static async Task<TestDevice> LinkAsync(TestSilo silo, TestDevice primary, long keyIndex)
    {
        var token = await TokenAsync(silo, primary);
        var (companion, body) = NewRequest(primary, token, keyIndex);
        using var http = silo.CreateHttpClient();
        using var response = await http.PutAsJsonAsync("/v1/devices/link", body);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        return response.IsSuccessStatusCode
            ? companion with { DeviceId = (int)answer!["deviceId"]! }
            : throw new InvalidOperationException($"link refused: {(int)response.StatusCode} {answer}");
    }

    /// <summary>A signed device list body naming <paramref name="validIndexes"/>.</summary>
    public static JsonObject DeviceList(TestDevice primary, long timestampMs, IEnumerable<uint> validIndexes, ECKeyPair? signer = null, string? accountId = null)
    {
        var indexes = validIndexes.Order().ToList();
        var list = new KeyIndexList(accountId ?? primary.AccountId, timestampMs, indexes.Count == 0 ? 0 : indexes[^1], indexes).ToBytes();
        return new JsonObject
        {
            ["list"] = Convert.ToBase64String(list),
            ["signature"] = Convert.ToBase64String((signer ?? primary.Identity).Sign(AdvSignatures.DeviceListMessage(list))),
        };
    }

    /// <summary>What a test may change about a link request before it is signed.</summary>
    public sealed class LinkParts
    {
        public required string MetadataAccountId { get; set; }

        public required uint MetadataKeyIndex { get; set; }

        public required ECKeyPair AccountSigner { get; set; }

        public required ECKeyPair DeviceSigner { get; set; }
    }
}
