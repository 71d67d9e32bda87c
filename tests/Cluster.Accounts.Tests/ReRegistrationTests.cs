using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Cluster.Abstractions;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Accounts.Tests;

/// <summary>
/// A verified registration of a registered number (a new phone) against a real silo on both engines: the old primary
/// and every companion are unlinked at once (4401 on their sockets, 401 on HTTP, queues empty), contacts hear
/// <c>identityChanged</c>, senders with the old view get 409/410, and the signed device list is void.
/// </summary>
public sealed class ReRegistrationTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<StorageKind> Engines() => NewPhones.Engines();

    private static async Task<long> QueuedAsync(TestSilo silo, TestDevice device) =>
        await silo.Services.GetRequiredService<IInboxStore>().CountAsync(new DeviceAddress(device.AccountId, device.DeviceId).GrainKey, Cancel);

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ReRegister_PrimaryWithCompanions_EveryOldDeviceUnlinkedAndQueuesEmpty(StorageKind engine)
    {
        await using var running = await NewPhones.StartAsync(engine);
        var silo = running.Silo;
        var primary = await TestAccounts.RegisterAsync(silo);
        var connected = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        var offline = await Linking.LinkAsync(silo, primary, keyIndex: 2);
        var contact = await TestAccounts.RegisterAsync(silo);
        using var contactHttp = contact.CreateClient(silo);
        await Messages.SendOkAsync(contactHttp, primary.AccountId, Messages.Body([primary, connected, offline], "before"), Cancel);
        await using var primarySocket = await TestSocket.ConnectAsync(silo, primary, Cancel);
        await using var companionSocket = await TestSocket.ConnectAsync(silo, connected, Cancel);
        await primarySocket.ReadBacklogAsync();
        await companionSocket.ReadBacklogAsync();
        Assert.Equal(1, await QueuedAsync(silo, offline));

        var (phone, response) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        using (response)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        Assert.Equal((WebSocketCloseStatus)4401, await primarySocket.ClosedAsync("with 4401 once the number moved to a new phone"));
        Assert.Equal((WebSocketCloseStatus)4401, await companionSocket.ClosedAsync("with 4401 once the primary re-registered"));
        foreach (var old in new[] { primary, connected, offline })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await NewPhones.StatusOfDevicesAsync(silo, old));
            Assert.Equal(0, await QueuedAsync(silo, old));
        }

        using var phoneHttp = phone.CreateClient(silo);
        var own = await phoneHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);
        var only = Assert.Single(own!["devices"]!.AsArray())!;
        Assert.Equal((1, phone.RegistrationId), ((int)only["deviceId"]!, (int)only["registrationId"]!));
        var page = await phoneHttp.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);
        Assert.Empty(page!["envelopes"]!.AsArray());
        await using var phoneSocket = await TestSocket.ConnectAsync(silo, phone, Cancel);
        Assert.Empty(await phoneSocket.ReadBacklogAsync());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ReRegister_ContactWithOldView_HearsIdentityChangedAndSendsRefused(StorageKind engine)
    {
        await using var running = await NewPhones.StartAsync(engine);
        var silo = running.Silo;
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        var contact = await TestAccounts.RegisterAsync(silo);
        using var contactHttp = contact.CreateClient(silo);
        using (var devices = await contactHttp.GetAsync($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, devices.StatusCode);
        }

        await using var contactSocket = await TestSocket.ConnectAsync(silo, contact, Cancel);
        await contactSocket.ReadBacklogAsync();

        var (phone, response) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        response.Dispose();

        var changed = await NewPhones.NextEventAsync(contactSocket, "identityChanged");
        Assert.Equal(primary.AccountId, (string?)changed["accountId"]);
        var after = await contactHttp.GetFromJsonAsync<JsonObject>($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel);
        Assert.True((long)changed["version"]! > 0);
        Assert.Equal(Convert.ToBase64String(phone.Identity.PublicKey.Span), (string?)after!["primaryIdentityKey"]);
        Assert.Null(after["deviceList"]);
        Assert.Equal([1], after["devices"]!.AsArray().Select(d => (int)d!["deviceId"]!));

        using var both = await Messages.SendAsync(contactHttp, primary.AccountId, Messages.Body([primary, companion], "old view"), Cancel);
        var mismatch = await NewPhones.AssertErrorAsync(both, HttpStatusCode.Conflict, "mismatched_devices");
        Assert.Equal([companion.DeviceId], mismatch["extraDevices"]!.AsArray().Select(n => (int)n!));
        var oldPrimary = primary with { RegistrationId = phone.RegistrationId == primary.RegistrationId ? (primary.RegistrationId % 16380) + 1 : primary.RegistrationId };
        using var stale = await Messages.SendAsync(contactHttp, primary.AccountId, Messages.Body([oldPrimary], "old primary"), Cancel);
        var gone = await NewPhones.AssertErrorAsync(stale, HttpStatusCode.Gone, "stale_devices");
        Assert.Equal([1], gone["staleDevices"]!.AsArray().Select(n => (int)n!));
        await Messages.SendOkAsync(contactHttp, primary.AccountId, Messages.Body([phone], "new view"), Cancel);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ReRegister_NewPrimary_LinksFromKeyIndexOneAndPublishesItsOwnList(StorageKind engine)
    {
        await using var running = await NewPhones.StartAsync(engine);
        var silo = running.Silo;
        var primary = await TestAccounts.RegisterAsync(silo);
        await Linking.LinkAsync(silo, primary, keyIndex: 5);
        using (var primaryHttp = primary.CreateClient(silo))
        using (var published = await primaryHttp.PutAsJsonAsync("/v1/devices/list", Linking.DeviceList(primary, 1000, [5]), Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, published.StatusCode);
        }

        var (phone, response) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        response.Dispose();

        // Key indexes belong to the identity that signed them: the new primary starts again at 1.
        var companion = await Linking.LinkAsync(silo, phone, keyIndex: 1);
        using var phoneHttp = phone.CreateClient(silo);
        using var oldList = await phoneHttp.PutAsJsonAsync("/v1/devices/list", Linking.DeviceList(primary, 2000, [1]), Cancel);
        await NewPhones.AssertErrorAsync(oldList, (HttpStatusCode)422, "bad_signature");
        using var newList = await phoneHttp.PutAsJsonAsync("/v1/devices/list", Linking.DeviceList(phone, 1, [1]), Cancel);
        Assert.Equal(HttpStatusCode.NoContent, newList.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, companion));
    }

    [Fact]
    public async Task ReRegister_WithoutCode_RefusedAndOldPrimaryKept()
    {
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite);
        var silo = running.Silo;
        var primary = await TestAccounts.RegisterAsync(silo);
        var (_, body) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        using var http = silo.CreateHttpClient();

        using var response = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);

        await NewPhones.AssertErrorAsync(response, HttpStatusCode.BadRequest, "missing_field");
        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, primary));
    }

    [Fact]
    public async Task ReRegister_VerificationNotRequired_ConflictAndOldPrimaryKept()
    {
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite, settings: ("Verification:Required", "false"));
        var silo = running.Silo;
        var (primary, first) = TestAccounts.NewRegistration();
        var (_, second) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        using var http = silo.CreateHttpClient();
        using (var registered = await http.PostAsJsonAsync("/v1/accounts", first, Cancel))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        using var again = await http.PostAsJsonAsync("/v1/accounts", second, Cancel);

        await NewPhones.AssertErrorAsync(again, HttpStatusCode.Conflict, "account_exists");
        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, primary));
    }
}
