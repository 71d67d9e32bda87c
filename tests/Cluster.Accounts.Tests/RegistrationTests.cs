using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Accounts.Tests;

[Collection(SharedSilo.Name)]
public sealed class RegistrationTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Register_ValidBody_CreatedAndPrimaryListed()
    {
        var (device, body) = TestAccounts.NewRegistration(oneTimeKeys: 5, kemOneTimeKeys: 5);
        using var http = Silo.CreateHttpClient();

        using var response = await TestAccounts.PostRegistrationAsync(Silo, http, body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal(device.AccountId, (string?)created!["accountId"]);
        Assert.Equal(1, (int)created["deviceId"]!);

        using var authed = device.CreateClient(Silo);
        var devices = await authed.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);
        var primary = Assert.Single(devices!["devices"]!.AsArray())!;
        Assert.Equal(1, (int)primary["deviceId"]!);
        Assert.Equal("test phone", (string?)primary["name"]);
        Assert.Equal(device.RegistrationId, (int)primary["registrationId"]!);
        Assert.True((long)primary["linkedAt"]! > 0);
        Assert.True((long)primary["lastSeenAt"]! > 0);
    }

    [Fact]
    public async Task Register_ExistingAccount_ConflictAndFirstCredentialsKept()
    {
        var (device, body) = TestAccounts.NewRegistration();
        var (_, again) = TestAccounts.NewRegistration(accountId: device.AccountId);
        using var http = Silo.CreateHttpClient();
        using var first = await TestAccounts.PostRegistrationAsync(Silo, http, body);

        using var second = await TestAccounts.PostRegistrationAsync(Silo, http, again);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("account_exists", (string?)(await second.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
        using var authed = device.CreateClient(Silo);
        using var devices = await authed.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.OK, devices.StatusCode);
    }

    [Fact]
    public async Task Register_WithoutJsonContentType_UnsupportedMediaType()
    {
        var (_, body) = TestAccounts.NewRegistration();
        using var http = Silo.CreateHttpClient();

        using var response = await http.PostAsync("/v1/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain"), Cancel);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("unsupported_media_type", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
    }

    public static TheoryData<string, string, int, string> BadRegistrations() => new()
    {
        // mutation, field named in the answer, status, error code
        { "accountId=missing", "accountId", 400, "missing_field" },
        { "accountId=12345678", "accountId", 400, "invalid_field" },
        { "accountId=+0123456789", "accountId", 400, "invalid_field" },
        { "accountId=number", "accountId", 400, "invalid_field" },
        { "password=missing", "password", 400, "missing_field" },
        { "password=short", "password", 400, "invalid_field" },
        { "password=nonascii", "password", 400, "invalid_field" },
        { "password=toolong", "password", 400, "invalid_field" },
        { "registrationId=missing", "registrationId", 400, "missing_field" },
        { "registrationId=0", "registrationId", 400, "invalid_field" },
        { "registrationId=16381", "registrationId", 400, "invalid_field" },
        { "registrationId=text", "registrationId", 400, "invalid_field" },
        { "registrationId=fraction", "registrationId", 400, "invalid_field" },
        { "name=long", "name", 400, "invalid_field" },
        { "identityKey=missing", "identityKey", 400, "missing_field" },
        { "identityKey=32bytes", "identityKey", 400, "invalid_field" },
        { "identityKey=34bytes", "identityKey", 400, "invalid_field" },
        { "identityKey=type6", "identityKey", 400, "invalid_field" },
        { "identityKey=notbase64", "identityKey", 400, "invalid_field" },
        { "signedPreKey=missing", "signedPreKey", 400, "missing_field" },
        { "signedPreKey.keyId=missing", "signedPreKey.keyId", 400, "missing_field" },
        { "signedPreKey.keyId=-1", "signedPreKey.keyId", 400, "invalid_field" },
        { "signedPreKey.keyId=16777216", "signedPreKey.keyId", 400, "invalid_field" },
        { "signedPreKey.publicKey=34bytes", "signedPreKey.publicKey", 400, "invalid_field" },
        { "signedPreKey.signature=63bytes", "signedPreKey.signature", 400, "invalid_field" },
        { "signedPreKey.signature=65bytes", "signedPreKey.signature", 400, "invalid_field" },
        { "signedPreKey.signature=tampered", "signedPreKey.signature", 422, "bad_signature" },
        { "signedPreKey.publicKey=tampered", "signedPreKey.signature", 422, "bad_signature" },
        { "kemLastResortKey=missing", "kemLastResortKey", 400, "missing_field" },
        { "kemLastResortKey.publicKey=ectype", "kemLastResortKey.publicKey", 400, "invalid_field" },
        { "kemLastResortKey.publicKey=1568bytes", "kemLastResortKey.publicKey", 400, "invalid_field" },
        { "kemLastResortKey.signature=tampered", "kemLastResortKey.signature", 422, "bad_signature" },
        { "oneTimePreKeys=101", "oneTimePreKeys", 400, "invalid_field" },
        { "oneTimePreKeys=object", "oneTimePreKeys", 400, "invalid_field" },
        { "oneTimePreKeys[0].publicKey=32bytes", "oneTimePreKeys[0].publicKey", 400, "invalid_field" },
        { "oneTimePreKeys[1].keyId=duplicate", "oneTimePreKeys[1].keyId", 400, "invalid_field" },
        { "kemOneTimeKeys[0].signature=tampered", "kemOneTimeKeys[0].signature", 422, "bad_signature" },
        { "kemOneTimeKeys[0].publicKey=ectype", "kemOneTimeKeys[0].publicKey", 400, "invalid_field" },
    };

    [Theory]
    [MemberData(nameof(BadRegistrations))]
    public async Task Register_BadField_RefusedNamingFieldAndNothingStored(string mutation, string field, int status, string error)
    {
        var (device, body) = TestAccounts.NewRegistration(oneTimeKeys: 2, kemOneTimeKeys: 1);
        Mutate(body, mutation);
        using var http = Silo.CreateHttpClient();

        using var response = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);

        Assert.Equal(status, (int)response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal(error, (string?)answer!["error"]);
        Assert.Equal(field, (string?)answer["field"]);
        Assert.Contains(field, (string?)answer["message"], StringComparison.Ordinal);

        // Nothing was stored: the number is still free.
        var (_, fresh) = TestAccounts.NewRegistration(accountId: device.AccountId);
        if (AccountIdIsValid(body))
        {
            using var retry = await TestAccounts.PostRegistrationAsync(Silo, http, fresh);
            Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        }
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[1, 2, 3]")]
    [InlineData("null")]
    [InlineData("{\"accountId\": ")]
    public async Task Register_MalformedJson_BadRequest(string text)
    {
        using var http = Silo.CreateHttpClient();

        using var response = await http.PostAsync("/v1/accounts", new StringContent(text, Encoding.UTF8, "application/json"), Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
    }

    private static bool AccountIdIsValid(JsonObject body) =>
        body["accountId"] is JsonValue value && value.TryGetValue<string>(out var id) && Cluster.Abstractions.Accounts.AccountIds.IsValid(id);

    /// <summary>Applies one named defect to a valid registration body.</summary>
    internal static void Mutate(JsonObject body, string mutation)
    {
        var (path, change) = (mutation[..mutation.IndexOf('=', StringComparison.Ordinal)], mutation[(mutation.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        var (parent, member) = Locate(body, path);
        switch (change)
        {
            case "missing":
                parent.AsObject().Remove(member);
                break;
            case "number":
                parent[member] = 15551234567;
                break;
            case "text":
                parent[member] = "abc";
                break;
            case "fraction":
                parent[member] = 1.5;
                break;
            case "object":
                parent[member] = new JsonObject();
                break;
            case "short":
                parent[member] = "tooshort";
                break;
            case "nonascii":
                parent[member] = "passwörd-passwörd-passwörd";
                break;
            case "toolong":
                parent[member] = new string('x', 129);
                break;
            case "long":
                parent[member] = new string('n', 257);
                break;
            case "notbase64":
                parent[member] = "***not base64***";
                break;
            case "duplicate":
                parent[member] = (int)body["oneTimePreKeys"]![0]!["keyId"]!;
                break;
            case "101":
                parent[member] = TestAccounts.OneTimePreKeys(1, 101);
                break;
            case "tampered":
                var bytes = Convert.FromBase64String((string)parent[member]!);
                bytes[5] ^= 0x01;
                parent[member] = Convert.ToBase64String(bytes);
                break;
            case "type6":
            case "ectype":
                var typed = Convert.FromBase64String((string)parent[member]!);
                typed[0] = change == "type6" ? (byte)0x06 : (byte)0x05;
                parent[member] = Convert.ToBase64String(typed);
                break;
            default:
                if (change.EndsWith("bytes", StringComparison.Ordinal))
                {
                    var length = int.Parse(change[..^5], System.Globalization.CultureInfo.InvariantCulture);
                    var original = Convert.FromBase64String((string)parent[member]!);
                    var resized = new byte[length];
                    original.AsSpan(0, Math.Min(length, original.Length)).CopyTo(resized);
                    parent[member] = Convert.ToBase64String(resized);
                }
                else
                {
                    parent[member] = long.Parse(change, System.Globalization.CultureInfo.InvariantCulture);
                }

                break;
        }
    }

    private static (JsonNode Parent, string Member) Locate(JsonObject body, string path)
    {
        JsonNode parent = body;
        var parts = path.Split('.');
        for (var i = 0; i < parts.Length - 1; i++)
        {
            parent = Step(parent, parts[i]);
        }

        var last = parts[^1];
        if (last.EndsWith(']'))
        {
            return (Step(parent, last), "");
        }

        return (parent, last);
    }

    private static JsonNode Step(JsonNode node, string part)
    {
        var bracket = part.IndexOf('[', StringComparison.Ordinal);
        if (bracket < 0)
        {
            return node[part]!;
        }

        var index = int.Parse(part[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
        return node[part[..bracket]]![index]!;
    }
}
