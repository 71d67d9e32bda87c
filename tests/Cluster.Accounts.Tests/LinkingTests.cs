using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Cluster.Persistence.Inbox;
using Cluster.Signal;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

[Collection(SharedSilo.Name)]
public sealed class LinkingTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Link_SignedRequest_CompanionWorksAndSendersCanVerifyIt()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        using var companionHttp = companion.CreateClient(Silo);
        using var primaryHttp = primary.CreateClient(Silo);
        var sender = await TestAccounts.RegisterAsync(Silo);
        using var senderHttp = sender.CreateClient(Silo);

        using var published = await primaryHttp.PutAsJsonAsync("/v1/devices/list", Linking.DeviceList(primary, 1000, [1]), Cancel);
        var own = await companionHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);
        var seen = await senderHttp.GetFromJsonAsync<JsonObject>($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel);

        Assert.Equal(2, companion.DeviceId);
        Assert.Equal(HttpStatusCode.NoContent, published.StatusCode);
        Assert.Equal([1, 2], own!["devices"]!.AsArray().Select(d => (int)d!["deviceId"]!));
        var primaryKey = Convert.FromBase64String((string)seen!["primaryIdentityKey"]!);
        var list = Convert.FromBase64String((string)seen["deviceList"]!["list"]!);
        Assert.True(XEdDsa.Verify(primaryKey, AdvSignatures.DeviceListMessage(list), Convert.FromBase64String((string)seen["deviceList"]!["signature"]!)));
        var first = seen["devices"]![0]!;
        Assert.Equal(0, (long)first["keyIndex"]!);
        Assert.Null(first["accountSignature"]);
        var linked = seen["devices"]![1]!;
        var key = Convert.FromBase64String((string)linked["identityKey"]!);
        var metadata = Convert.FromBase64String((string)linked["linkingMetadata"]!);
        Assert.Equal(1, (long)linked["keyIndex"]!);
        Assert.Equal(companion.RegistrationId, (int)linked["registrationId"]!);
        Assert.True(XEdDsa.Verify(primaryKey, AdvSignatures.AccountMessage(metadata, key), Convert.FromBase64String((string)linked["accountSignature"]!)));
        Assert.True(XEdDsa.Verify(key, AdvSignatures.DeviceMessage(metadata, key, primaryKey), Convert.FromBase64String((string)linked["deviceSignature"]!)));
    }

    [Fact]
    public async Task GetAccountDevices_ManyTimes_PrimarySignaturesStayNull()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        using var http = primary.CreateClient(Silo);

        for (var i = 0; i < 50; i++)
        {
            var seen = await http.GetFromJsonAsync<JsonObject>($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel);
            var first = seen!["devices"]![0]!.AsObject();
            Assert.True(first.ContainsKey("accountSignature") && first["accountSignature"] is null, $"call {i}: {first.ToJsonString()}");
            Assert.True(first["deviceSignature"] is null && first["linkingMetadata"] is null, $"call {i}: {first.ToJsonString()}");
            Assert.Null(seen["deviceList"]);
        }
    }

    [Fact]
    public async Task Link_NewCompanion_ReceivesMessagesSentToTheAccount()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        var sender = await TestAccounts.RegisterAsync(Silo);
        using var senderHttp = sender.CreateClient(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, companion, Cancel);
        await socket.ReadBacklogAsync();

        using var stale = await Messages.SendAsync(senderHttp, primary.AccountId, Messages.Body([primary], "hi"), Cancel);
        await Messages.SendOkAsync(senderHttp, primary.AccountId, Messages.Body([primary, companion], "hi"), Cancel);

        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal([2], (await stale.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["missingDevices"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(Messages.Content("hi", companion), Messages.ContentOf(await socket.NextEnvelopeAsync()));
    }

    public static TheoryData<string, int, string, string?> Refusals() => new()
    {
        // defect, status, error, field
        { "forged-account-signature", 422, "bad_signature", "accountSignature" },
        { "forged-device-signature", 422, "bad_signature", "deviceSignature" },
        { "metadata-other-account", 422, "bad_linking_metadata", "linkingMetadata" },
        { "metadata-other-index", 422, "bad_linking_metadata", "linkingMetadata" },
        { "unknown-token", 403, "bad_link_token", "token" },
        { "foreign-token", 403, "bad_link_token", "token" },
        { "malformed-metadata", 400, "invalid_field", "linkingMetadata" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Link_Refused_NothingChangesAndTokenStaysValid(string defect, int status, string error, string? field)
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var stranger = await TestAccounts.RegisterAsync(Silo);
        var token = await Linking.TokenAsync(Silo, primary);
        var (_, body) = Linking.NewRequest(primary, token, 1, parts =>
        {
            switch (defect)
            {
                case "forged-account-signature": parts.AccountSigner = ECKeyPair.Generate(); break;
                case "forged-device-signature": parts.DeviceSigner = ECKeyPair.Generate(); break;
                case "metadata-other-account": parts.MetadataAccountId = stranger.AccountId; break;
                case "metadata-other-index": parts.MetadataKeyIndex = 2; break;
            }
        });
        switch (defect)
        {
            case "unknown-token": body["token"] = "not-a-token"; break;
            case "foreign-token": body["token"] = await Linking.TokenAsync(Silo, stranger); break;
            case "malformed-metadata": body["linkingMetadata"] = Convert.ToBase64String([1, 2, 3]); break;
        }

        using var http = Silo.CreateHttpClient();
        using var refused = await http.PutAsJsonAsync("/v1/devices/link", body, Cancel);
        var answer = await refused.Content.ReadFromJsonAsync<JsonObject>(Cancel);

        Assert.Equal(status, (int)refused.StatusCode);
        Assert.Equal(error, (string?)answer!["error"]);
        Assert.Equal(field, (string?)answer["field"]);
        using var primaryHttp = primary.CreateClient(Silo);
        var devices = await primaryHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);
        Assert.Single(devices!["devices"]!.AsArray());
        var (_, good) = Linking.NewRequest(primary, token, 1);
        using var linked = await http.PutAsJsonAsync("/v1/devices/link", good, Cancel);
        Assert.Equal(HttpStatusCode.Created, linked.StatusCode);
    }

    [Fact]
    public async Task Link_TokenUsedOnce_SecondLinkForbidden()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var token = await Linking.TokenAsync(Silo, primary);
        using var http = Silo.CreateHttpClient();
        using var first = await http.PutAsJsonAsync("/v1/devices/link", Linking.NewRequest(primary, token, 1).Body, Cancel);

        using var second = await http.PutAsJsonAsync("/v1/devices/link", Linking.NewRequest(primary, token, 2).Body, Cancel);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Link_KeyIndexNotAboveUsed_Conflict(long keyIndex)
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        await Linking.LinkAsync(Silo, primary, keyIndex: 3);
        var token = await Linking.TokenAsync(Silo, primary);
        using var http = Silo.CreateHttpClient();

        using var response = await http.PutAsJsonAsync("/v1/devices/link", Linking.NewRequest(primary, token, keyIndex).Body, Cancel);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("stale_key_index", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
    }

    [Fact]
    public async Task Link_FifthCompanion_TooManyDevices()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        for (var i = 1; i <= 4; i++)
        {
            await Linking.LinkAsync(Silo, primary, keyIndex: i);
        }

        var token = await Linking.TokenAsync(Silo, primary);
        using var http = Silo.CreateHttpClient();
        using var response = await http.PutAsJsonAsync("/v1/devices/link", Linking.NewRequest(primary, token, 5).Body, Cancel);

        Assert.Equal(HttpStatusCode.LengthRequired, response.StatusCode);
        Assert.Equal("too_many_devices", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
    }

    [Fact]
    public async Task Link_TwoCompanionsRaceForLastSlot_ExactlyOneLinked()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        for (var i = 1; i <= 3; i++)
        {
            await Linking.LinkAsync(Silo, primary, keyIndex: i);
        }

        var first = Linking.NewRequest(primary, await Linking.TokenAsync(Silo, primary), 10).Body;
        var second = Linking.NewRequest(primary, await Linking.TokenAsync(Silo, primary), 11).Body;
        using var http = Silo.CreateHttpClient();

        var responses = await Task.WhenAll(http.PutAsJsonAsync("/v1/devices/link", first, Cancel), http.PutAsJsonAsync("/v1/devices/link", second, Cancel));

        var statuses = responses.Select(r => r.StatusCode).Order().ToList();
        Assert.True(statuses.Count(s => s == HttpStatusCode.Created) == 1, $"exactly one link should win: {string.Join(", ", statuses)}");
        Assert.Contains(statuses, s => s is HttpStatusCode.LengthRequired or HttpStatusCode.Conflict);
        using var primaryHttp = primary.CreateClient(Silo);
        Assert.Equal(5, (await primaryHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel))!["devices"]!.AsArray().Count);
    }

    [Fact]
    public async Task LinkToken_Expired_Forbidden()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var token = await Linking.TokenAsync(silo, primary);
        time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        using var http = silo.CreateHttpClient();

        using var response = await http.PutAsJsonAsync("/v1/devices/link", Linking.NewRequest(primary, token, 1).Body, Cancel);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task LinkToken_MoreThanOutstandingLimit_TooManyUntilTheOldestExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        using var http = primary.CreateClient(silo);
        for (var i = 0; i < 5; i++)
        {
            using var issued = await http.PostAsync("/v1/devices/link-token", null, Cancel);
            Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
            time.Advance(TimeSpan.FromMinutes(1));
        }

        using var refused = await http.PostAsync("/v1/devices/link-token", null, Cancel);
        var error = await refused.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        // The first token was issued 5 minutes ago and lives 10.
        time.Advance(TimeSpan.FromMinutes(5));
        using var again = await http.PostAsync("/v1/devices/link-token", null, Cancel);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("too_many_link_tokens", (string?)error!["error"]);
        Assert.Equal(TimeSpan.FromMinutes(5), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }

    public static TheoryData<string, int, string> ListRefusals() => new()
    {
        { "wrong-signer", 422, "bad_signature" },
        { "stale", 409, "stale_device_list" },
        { "omits-device", 409, "device_list_mismatch" },
        { "extra-index", 409, "device_list_mismatch" },
        { "other-account", 422, "bad_device_list" },
        { "malformed", 400, "invalid_field" },
    };

    [Theory]
    [MemberData(nameof(ListRefusals))]
    public async Task PublishList_Refused_StoredListUnchanged(string defect, int status, string error)
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        await Linking.LinkAsync(Silo, primary, keyIndex: 2);
        using var http = primary.CreateClient(Silo);
        var stored = Linking.DeviceList(primary, 5000, [1, 2]);
        using var first = await http.PutAsJsonAsync("/v1/devices/list", stored, Cancel);
        var body = defect switch
        {
            "wrong-signer" => Linking.DeviceList(primary, 6000, [1, 2], signer: ECKeyPair.Generate()),
            "stale" => Linking.DeviceList(primary, 5000, [1, 2]),
            "omits-device" => Linking.DeviceList(primary, 6000, [1]),
            "extra-index" => Linking.DeviceList(primary, 6000, [1, 2, 3]),
            "other-account" => Linking.DeviceList(primary, 6000, [1, 2], accountId: TestAccounts.NewAccountId()),
            _ => new JsonObject { ["list"] = Convert.ToBase64String([9, 9]), ["signature"] = Convert.ToBase64String(new byte[64]) },
        };

        using var response = await http.PutAsJsonAsync("/v1/devices/list", body, Cancel);
        var seen = await http.GetFromJsonAsync<JsonObject>($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel);

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(error, (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
        Assert.Equal((string?)stored["list"], (string?)seen!["deviceList"]!["list"]);
    }

    [Fact]
    public async Task PrimaryOnlyCalls_Companion_Forbidden()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        var other = await Linking.LinkAsync(Silo, primary, keyIndex: 2);
        using var http = companion.CreateClient(Silo);
        using var primaryHttp = primary.CreateClient(Silo);

        using var token = await http.PostAsync("/v1/devices/link-token", null, Cancel);
        using var list = await http.PutAsJsonAsync("/v1/devices/list", Linking.DeviceList(primary, 1, [1, 2]), Cancel);
        using var removeOther = await http.DeleteAsync($"/v1/devices/{other.DeviceId}", Cancel);
        using var removePrimary = await primaryHttp.DeleteAsync("/v1/devices/1", Cancel);

        Assert.Equal(HttpStatusCode.Forbidden, token.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, removeOther.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, removePrimary.StatusCode);
    }

    [Fact]
    public async Task Unlink_Companion_CredentialsSocketQueueAndDeviceSetAllGo()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        var sender = await TestAccounts.RegisterAsync(Silo);
        using var senderHttp = sender.CreateClient(Silo);
        await Messages.SendOkAsync(senderHttp, primary.AccountId, Messages.Body([primary, companion], "queued"), Cancel);
        var socket = await TestSocket.ConnectAsync(Silo, companion, Cancel);
        await socket.ReadBacklogAsync();
        using var primaryHttp = primary.CreateClient(Silo);

        using var removed = await primaryHttp.DeleteAsync($"/v1/devices/{companion.DeviceId}", Cancel);

        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal((WebSocketCloseStatus)4401, await socket.Closed.WaitAsync(TimeSpan.FromSeconds(15), Cancel));
        await socket.DisposeAsync();
        using var companionHttp = companion.CreateClient(Silo);
        using var after = await companionHttp.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal(0, await Silo.Services.GetRequiredService<IInboxStore>().CountAsync($"{primary.AccountId}.{companion.DeviceId}", Cancel));
        using var stale = await Messages.SendAsync(senderHttp, primary.AccountId, Messages.Body([primary, companion], "late"), Cancel);
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal([companion.DeviceId], (await stale.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["extraDevices"]!.AsArray().Select(n => (int)n!));

        var again = await Linking.LinkAsync(Silo, primary, keyIndex: 2);
        Assert.Equal(companion.DeviceId, again.DeviceId);
        await using var fresh = await TestSocket.ConnectAsync(Silo, again, Cancel);
        Assert.Empty(await fresh.ReadBacklogAsync());
    }

    [Fact]
    public async Task Unlink_ItselfByCompanion_Allowed()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        using var http = companion.CreateClient(Silo);

        using var removed = await http.DeleteAsync($"/v1/devices/{companion.DeviceId}", Cancel);
        using var after = await http.GetAsync("/v1/devices", Cancel);

        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task DeviceListChanged_InterestedAccountsHearOfLinkAndUnlink_OthersDoNot()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var interested = await TestAccounts.RegisterAsync(Silo);
        var bystander = await TestAccounts.RegisterAsync(Silo);
        using var interestedHttp = interested.CreateClient(Silo);
        await interestedHttp.GetFromJsonAsync<JsonObject>($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel);
        await using var interestedSocket = await TestSocket.ConnectAsync(Silo, interested, Cancel);
        await using var bystanderSocket = await TestSocket.ConnectAsync(Silo, bystander, Cancel);
        await using var primarySocket = await TestSocket.ConnectAsync(Silo, primary, Cancel);
        await interestedSocket.ReadBacklogAsync();
        await bystanderSocket.ReadBacklogAsync();
        await primarySocket.ReadBacklogAsync();

        var companion = await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        var onLink = await interestedSocket.NextAsync("deviceListChanged after the link");
        var primaryOnLink = await primarySocket.NextAsync("deviceListChanged on the primary after the link");
        using var primaryHttp = primary.CreateClient(Silo);
        using var removed = await primaryHttp.DeleteAsync($"/v1/devices/{companion.DeviceId}", Cancel);
        var onUnlink = await interestedSocket.NextAsync("deviceListChanged after the unlink");

        Assert.Equal("deviceListChanged", (string?)onLink["event"]!["type"]);
        Assert.Equal(primary.AccountId, (string?)onLink["event"]!["accountId"]);
        Assert.Equal("deviceListChanged", (string?)primaryOnLink["event"]!["type"]);
        Assert.Equal((long)onLink["event"]!["version"]! + 1, (long)onUnlink["event"]!["version"]!);
        Assert.False(primarySocket.TryTake(out var own), $"the primary removed the device itself and should not be told: {own?.ToJsonString()}");

        // The bystander's socket is live (it gets a message), and nothing about the primary's devices came before it.
        using var probe = primary.CreateClient(Silo);
        await Messages.SendOkAsync(probe, bystander.AccountId, Messages.Body([bystander], "probe"), Cancel);
        var next = await bystanderSocket.NextAsync("the probe message");
        Assert.Equal("envelope", (string?)next["kind"]);
    }
}
