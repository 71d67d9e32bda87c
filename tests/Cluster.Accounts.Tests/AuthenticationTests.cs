using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Accounts.Tests;

[Collection(SharedSilo.Name)]
public sealed class AuthenticationTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<string> Credentials() => new()
    {
        "none",
        "wrong-password",
        "unknown-device",
        "unknown-account",
        "malformed-base64",
        "no-colon",
        "bad-login",
        "other-accounts-password",
    };

    [Theory]
    [MemberData(nameof(Credentials))]
    public async Task AuthenticatedCalls_BadCredentials_Unauthorized(string credentials)
    {
        var device = await TestAccounts.RegisterAsync(Silo, oneTimeKeys: 3);
        var other = await TestAccounts.RegisterAsync(Silo);
        using var http = Silo.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = credentials switch
        {
            "none" => null,
            "wrong-password" => TestDevice.BasicAuth(device.Login, device.Password + "x"),
            "unknown-device" => TestDevice.BasicAuth($"{device.AccountId}.2", device.Password),
            "unknown-account" => TestDevice.BasicAuth($"{TestAccounts.NewAccountId()}.1", device.Password),
            "malformed-base64" => new AuthenticationHeaderValue("Basic", "%%%"),
            "no-colon" => new AuthenticationHeaderValue("Basic", Convert.ToBase64String("abc"u8.ToArray())),
            "bad-login" => TestDevice.BasicAuth("someone", device.Password),
            _ => TestDevice.BasicAuth(device.Login, other.Password),
        };

        using var devices = await http.GetAsync("/v1/devices", Cancel);
        using var counts = await http.GetAsync("/v1/keys", Cancel);
        using var upload = await http.PutAsJsonAsync("/v1/keys", new JsonObject { ["oneTimePreKeys"] = TestAccounts.OneTimePreKeys(1, 1) }, Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, devices.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, counts.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, upload.StatusCode);
        Assert.Equal("unauthorized", (string?)(await devices.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
        using var owner = device.CreateClient(Silo);
        var stillThere = await owner.GetFromJsonAsync<JsonObject>("/v1/keys", Cancel);
        Assert.Equal(3, (int)stillThere!["oneTimeCount"]!);
    }

    [Fact]
    public async Task Request_RightPasswordAgain_AcceptedEveryTime()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        using var http = device.CreateClient(Silo);

        for (var i = 0; i < 3; i++)
        {
            using var response = await http.GetAsync("/v1/devices", Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
