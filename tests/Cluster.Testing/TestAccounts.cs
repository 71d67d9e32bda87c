using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Signal;
using Microsoft.Extensions.DependencyInjection;

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

    /// <summary>
    /// Asks the silo to send <paramref name="accountId"/> a verification code and reads it back from the development
    /// sender's file (the silo runs it by default; <c>VerificationSender:DevelopmentDirectory</c>).
    /// </summary>
    public static async Task<string> VerificationCodeAsync(TestSilo silo, string accountId)
    {
        using var http = silo.CreateHttpClient();
        using var response = await http.PostAsJsonAsync("/v1/accounts/verification", new JsonObject { ["accountId"] = accountId });
        if (response.StatusCode != System.Net.HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"verification code request failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return SentCode(accountId, silo.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Cluster.Silo.Verification.VerificationSenderOptions>>().Value.DevelopmentDirectory);
    }

    /// <summary>The last code the development sender sent <paramref name="accountId"/> (the test-visible code reader).</summary>
    /// <remarks>A silo in another process uses the same default directory unless told otherwise.</remarks>
    public static string SentCode(string accountId, string? directory = null) =>
        File.ReadAllText(Path.Combine(directory ?? new Cluster.Silo.Verification.VerificationSenderOptions().DevelopmentDirectory, accountId + ".code"));

    /// <summary>Gets a code for the body's <c>accountId</c>, puts it in as <c>verificationCode</c>, and POSTs the registration.</summary>
    public static async Task<HttpResponseMessage> PostRegistrationAsync(TestSilo silo, HttpClient http, JsonObject body)
    {
        body["verificationCode"] = await VerificationCodeAsync(silo, (string)body["accountId"]!);
        return await http.PostAsJsonAsync("/v1/accounts", body);
    }

    /// <summary>Registers a fresh account through the HTTP API and returns its primary device.</summary>
    public static async Task<TestDevice> RegisterAsync(TestSilo silo, int oneTimeKeys = 0, int kemOneTimeKeys = 0)
    {
        var (device, body) = NewRegistration(oneTimeKeys, kemOneTimeKeys);
        using var http = silo.CreateHttpClient();
        using var response = await PostRegistrationAsync(silo, http, body);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"registration failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return device;
    }

    /// <summary>
    /// Adds a companion device straight through the account grain (what linking does once its token and signatures
    /// are checked), for tests that need multi-device accounts without going through the link flow.
    /// </summary>
    public static async Task<TestDevice> AddCompanionAsync(TestSilo silo, TestDevice primary, int oneTimeKeys = 0)
    {
        var identity = ECKeyPair.Generate();
        var password = NewPassword();
        var registrationId = RandomNumberGenerator.GetInt32(1, 16381);
        var passwords = silo.Services.GetRequiredService<Cluster.Silo.Authentication.PasswordHashing>();
        var account = silo.Grains.GetGrain<Cluster.Abstractions.Accounts.IAccountGrain>(primary.AccountId);
        var devices = await account.GetDevicesAsync();
        var signedPreKey = ECKeyPair.Generate().PublicKey.ToArray();
        var kem = new byte[1569];
        RandomNumberGenerator.Fill(kem);
        kem[0] = 0x08;
        var oneTime = Enumerable.Range(100, oneTimeKeys)
            .Select(id => new Cluster.Abstractions.Keys.PreKey(id, ECKeyPair.Generate().PublicKey.ToArray()))
            .ToList();
        var result = await account.AddDeviceAsync(new Cluster.Abstractions.Accounts.AddDevice
        {
            PasswordHash = passwords.Hash(password),
            RegistrationId = registrationId,
            Name = "companion",
            IdentityKey = identity.PublicKey.ToArray(),
            KeyIndex = devices.Count + 100,
            Keys = new Cluster.Abstractions.Keys.PreKeyUpload
            {
                SignedPreKey = new Cluster.Abstractions.Keys.SignedPreKey(1, signedPreKey, identity.Sign(signedPreKey)),
                KemLastResortKey = new Cluster.Abstractions.Keys.SignedPreKey(1, kem, identity.Sign(kem)),
                OneTimePreKeys = oneTime,
            },
        });
        return result.Status == Cluster.Abstractions.Accounts.AddDeviceStatus.Added
            ? new TestDevice(primary.AccountId, result.DeviceId, password, identity, registrationId)
            : throw new InvalidOperationException($"adding a companion failed: {result.Status}");
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
