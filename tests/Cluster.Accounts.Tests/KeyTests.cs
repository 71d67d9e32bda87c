using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Accounts.Tests;

[Collection(SharedSilo.Name)]
public sealed class KeyTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FetchBundle_OtherAccount_HandsOutEachOneTimeKeyOnceThenFallsBack()
    {
        var bob = await TestAccounts.RegisterAsync(Silo, oneTimeKeys: 2, kemOneTimeKeys: 1);
        var alice = await TestAccounts.RegisterAsync(Silo);
        using var aliceHttp = alice.CreateClient(Silo);
        using var bobHttp = bob.CreateClient(Silo);

        var first = await aliceHttp.GetFromJsonAsync<JsonObject>($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/1", Cancel);
        var countsAfterFirst = await bobHttp.GetFromJsonAsync<JsonObject>("/v1/keys", Cancel);
        var second = await aliceHttp.GetFromJsonAsync<JsonObject>($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/1", Cancel);
        var third = await aliceHttp.GetFromJsonAsync<JsonObject>($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/1", Cancel);

        Assert.Equal(Convert.ToBase64String(bob.Identity.PublicKey.Span), (string?)first!["identityKey"]);
        var d1 = Assert.Single(first["devices"]!.AsArray())!;
        Assert.Equal(1, (int)d1["deviceId"]!);
        Assert.Equal(bob.RegistrationId, (int)d1["registrationId"]!);
        Assert.Equal(100, (int)d1["oneTimePreKey"]!["keyId"]!);
        Assert.Equal(100, (int)d1["kemPreKey"]!["keyId"]!);
        Assert.Equal(1, (int)countsAfterFirst!["oneTimeCount"]!);
        Assert.Equal(0, (int)countsAfterFirst["kemOneTimeCount"]!);

        var d2 = second!["devices"]![0]!;
        Assert.Equal(101, (int)d2["oneTimePreKey"]!["keyId"]!);
        Assert.Equal(1, (int)d2["kemPreKey"]!["keyId"]!); // last resort

        var d3 = third!["devices"]![0]!;
        Assert.Null(d3["oneTimePreKey"]);
        Assert.Equal(1, (int)d3["kemPreKey"]!["keyId"]!);
        Assert.Equal((string?)d2["kemPreKey"]!["publicKey"], (string?)d3["kemPreKey"]!["publicKey"]);
        Assert.Equal(1, (int)d3["signedPreKey"]!["keyId"]!);
    }

    [Fact]
    public async Task FetchBundle_AllDevices_ReturnsEveryDevice()
    {
        var bob = await TestAccounts.RegisterAsync(Silo, oneTimeKeys: 1, kemOneTimeKeys: 1);
        var alice = await TestAccounts.RegisterAsync(Silo);
        using var aliceHttp = alice.CreateClient(Silo);

        var all = await aliceHttp.GetFromJsonAsync<JsonObject>($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/*", Cancel);

        var devices = all!["devices"]!.AsArray();
        Assert.Equal([1], devices.Select(d => (int)d!["deviceId"]!));
    }

    [Fact]
    public async Task Upload_ReplacesOneTimeKeysAndCountsReflectIt()
    {
        var device = await TestAccounts.RegisterAsync(Silo, oneTimeKeys: 3, kemOneTimeKeys: 3);
        using var http = device.CreateClient(Silo);
        var upload = new JsonObject
        {
            ["signedPreKey"] = TestAccounts.SignedEcPreKey(device.Identity, 7),
            ["oneTimePreKeys"] = TestAccounts.OneTimePreKeys(500, 40),
            ["kemOneTimeKeys"] = TestAccounts.KemPreKeys(device.Identity, 600, 20),
        };

        using var response = await http.PutAsJsonAsync("/v1/keys", upload, Cancel);
        var counts = await http.GetFromJsonAsync<JsonObject>("/v1/keys", Cancel);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(40, (int)counts!["oneTimeCount"]!);
        Assert.Equal(20, (int)counts["kemOneTimeCount"]!);
        var other = await TestAccounts.RegisterAsync(Silo);
        using var otherHttp = other.CreateClient(Silo);
        var bundle = await otherHttp.GetFromJsonAsync<JsonObject>($"/v1/keys/{Uri.EscapeDataString(device.AccountId)}/1", Cancel);
        Assert.Equal(7, (int)bundle!["devices"]![0]!["signedPreKey"]!["keyId"]!);
        Assert.Equal(500, (int)bundle["devices"]![0]!["oneTimePreKey"]!["keyId"]!);
    }

    [Theory]
    [InlineData("signedPreKey.signature=tampered", "signedPreKey.signature", 422)]
    [InlineData("signedPreKey.publicKey=32bytes", "signedPreKey.publicKey", 400)]
    [InlineData("kemOneTimeKeys[0].signature=tampered", "kemOneTimeKeys[0].signature", 422)]
    [InlineData("oneTimePreKeys[0].publicKey=type6", "oneTimePreKeys[0].publicKey", 400)]
    [InlineData("oneTimePreKeys=101", "oneTimePreKeys", 400)]
    [InlineData("kemLastResortKey.keyId=16777216", "kemLastResortKey.keyId", 400)]
    public async Task Upload_BadKey_RefusedAndNothingChanges(string mutation, string field, int status)
    {
        var device = await TestAccounts.RegisterAsync(Silo, oneTimeKeys: 3, kemOneTimeKeys: 2);
        using var http = device.CreateClient(Silo);
        var upload = new JsonObject
        {
            ["signedPreKey"] = TestAccounts.SignedEcPreKey(device.Identity, 7),
            ["kemLastResortKey"] = TestAccounts.KemPreKey(device.Identity, 8),
            ["oneTimePreKeys"] = TestAccounts.OneTimePreKeys(500, 5),
            ["kemOneTimeKeys"] = TestAccounts.KemPreKeys(device.Identity, 600, 5),
        };
        RegistrationTests.Mutate(upload, mutation);

        using var response = await http.PutAsJsonAsync("/v1/keys", upload, Cancel);
        var counts = await http.GetFromJsonAsync<JsonObject>("/v1/keys", Cancel);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(field, (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["field"]);
        Assert.Equal(3, (int)counts!["oneTimeCount"]!);
        Assert.Equal(2, (int)counts["kemOneTimeCount"]!);
    }

    [Fact]
    public async Task Upload_SignedByAnotherIdentity_BadSignature()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        var stranger = Cluster.Signal.ECKeyPair.Generate();
        using var http = device.CreateClient(Silo);

        using var response = await http.PutAsJsonAsync("/v1/keys", new JsonObject { ["signedPreKey"] = TestAccounts.SignedEcPreKey(stranger, 9) }, Cancel);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("bad_signature", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
    }

    [Fact]
    public async Task FetchBundle_ConcurrentFetches_EachOneTimeKeyExactlyOnce()
    {
        var bob = await TestAccounts.RegisterAsync(Silo, oneTimeKeys: 50, kemOneTimeKeys: 50);
        var alice = await TestAccounts.RegisterAsync(Silo);
        using var http = alice.CreateClient(Silo);

        var fetches = Enumerable.Range(0, 200)
            .Select(_ => http.GetFromJsonAsync<JsonObject>($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/1", Cancel))
            .ToArray();
        var bundles = (await Task.WhenAll(fetches)).Select(b => b!["devices"]![0]!).ToList();

        var oneTimeIds = bundles.Where(b => b["oneTimePreKey"] is not null).Select(b => (int)b["oneTimePreKey"]!["keyId"]!).ToList();
        Assert.Equal(50, oneTimeIds.Count);
        Assert.Equal(Enumerable.Range(100, 50), oneTimeIds.Order());
        var kemIds = bundles.Select(b => (int)b["kemPreKey"]!["keyId"]!).ToList();
        Assert.Equal(Enumerable.Range(100, 50), kemIds.Where(id => id != 1).Order());
        Assert.Equal(150, kemIds.Count(id => id == 1));
    }

    [Theory]
    [InlineData("/v1/keys/{0}/2", HttpStatusCode.NotFound)]
    [InlineData("/v1/keys/+19999999999999/1", HttpStatusCode.NotFound)]
    [InlineData("/v1/keys/+19999999999999/*", HttpStatusCode.NotFound)]
    [InlineData("/v1/keys/12345/1", HttpStatusCode.BadRequest)]
    [InlineData("/v1/keys/{0}/0", HttpStatusCode.BadRequest)]
    [InlineData("/v1/keys/{0}/x", HttpStatusCode.BadRequest)]
    public async Task FetchBundle_UnknownOrMalformedTarget_ClientError(string path, HttpStatusCode expected)
    {
        var bob = await TestAccounts.RegisterAsync(Silo);
        var alice = await TestAccounts.RegisterAsync(Silo);
        using var http = alice.CreateClient(Silo);

        using var response = await http.GetAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, path, Uri.EscapeDataString(bob.AccountId)), Cancel);

        Assert.Equal(expected, response.StatusCode);
        Assert.NotNull((string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
    }
}
