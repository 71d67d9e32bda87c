using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Signal;

namespace Cluster.Testing;

/// <summary>A device's secrets as a test client holds them.</summary>
public sealed record TestDevice(string AccountId, int DeviceId, string Password, ECKeyPair Identity, int RegistrationId)
{
    public string Login => $"{AccountId}.{DeviceId}";

    /// <summary>A client authenticated as this device.</summary>
    public HttpClient CreateClient(TestSilo silo)
    {
        var client = silo.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = BasicAuth(Login, Password);
        return client;
    }

    public static AuthenticationHeaderValue BasicAuth(string login, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{login}:{password}")));
}

/// <summary>Fresh accounts with valid Signal-format key material, made and signed in C#.</summary>
public static class TestAccounts
{
    /// <summary>A fresh, valid, random E.164 account id.</summary>
    public static string NewAccountId() => "+1" + RandomNumberGenerator.GetInt32(200_000_000, 999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture) + RandomNumberGenerator.GetInt32(10, 99).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string NewPassword() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    /// <summary>A registration body for a new account; pass counts to include one-time keys.</summary>
    public static (TestDevice Device, JsonObject Body) NewRegistration(int oneTimeKeys = 0, int kemOneTimeKeys = 0, string? accountId = null)
    {
        var device = new TestDevice(accountId ?? NewAccountId(), 1, NewPassword(), ECKeyPair.Generate(), RandomNumberGenerator.GetInt32(1, 16381));
        var body = new JsonObject
        {
            ["accountId"] = device.AccountId,
            ["password"] = device.Password,
            ["registrationId"] = device.RegistrationId,
            ["name"] = "test phone",
            ["identityKey"] = Convert.ToBase64String(device.Identity.PublicKey.Span),
            ["signedPreKey"] = SignedEcPreKey(device.Identity, 1),
            ["kemLastResortKey"] = KemPreKey(device.Identity, 1),
            ["oneTimePreKeys"] = OneTimePreKeys(100, oneTimeKeys),
            ["kemOneTimeKeys"] = KemPreKeys(device.Identity, 100, kemOneTimeKeys),
        };
        return (device, body);
    }

    /// <summary>Registers a fresh account through the HTTP API and returns its primary device.</summary>
    public static async Task<TestDevice> RegisterAsync(TestSilo silo, int oneTimeKeys = 0, int kemOneTimeKeys = 0)
    {
        var (device, body) = NewRegistration(oneTimeKeys, kemOneTimeKeys);
        using var http = silo.CreateHttpClient();
        using var response = await http.PostAsJsonAsync("/v1/accounts", body);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"registration failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return device;
    }

    public static JsonObject SignedEcPreKey(ECKeyPair identity, int keyId)
    {
        var key = ECKeyPair.Generate().PublicKey.ToArray();
        return new JsonObject
        {
            ["keyId"] = keyId,
            ["publicKey"] = Convert.ToBase64String(key),
            ["signature"] = Convert.ToBase64String(identity.Sign(key)),
        };
    }

    /// <summary>
    /// A KEM prekey in libsignal's serialized form (0x08 || 1568 bytes). The server checks only the format and the
    /// signature, so random key bytes serve; the libsignal interop test uses real Kyber keys.
    /// </summary>
    public static JsonObject KemPreKey(ECKeyPair identity, int keyId)
    {
        var key = new byte[1569];
        RandomNumberGenerator.Fill(key);
        key[0] = 0x08;
        return new JsonObject
        {
            ["keyId"] = keyId,
            ["publicKey"] = Convert.ToBase64String(key),
            ["signature"] = Convert.ToBase64String(identity.Sign(key)),
        };
    }

    public static JsonArray OneTimePreKeys(int firstKeyId, int count)
    {
        var keys = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            keys.Add(new JsonObject
            {
                ["keyId"] = firstKeyId + i,
                ["publicKey"] = Convert.ToBase64String(ECKeyPair.Generate().PublicKey.Span),
            });
        }

        return keys;
    }

    public static JsonArray KemPreKeys(ECKeyPair identity, int firstKeyId, int count)
    {
        var keys = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            keys.Add(KemPreKey(identity, firstKeyId + i));
        }

        return keys;
    }
}
