using System.Net;
using System.Text.Json.Nodes;
using Cluster.Testing;
using static Cluster.Groups.Tests.GroupSends;
using static Cluster.Groups.Tests.Groups;

namespace Cluster.Groups.Tests;

/// <summary>Group send through the HTTP route of a real silo: the view checks (403/409/410), the fan-out and its idempotency.</summary>
public sealed class GroupSendTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private TestSilo Silo => fixture.Silo;

    [Fact]
    public async Task Send_MembersWithSeveralDevices_EveryDeviceButSenderGetsOneCopy()
    {
        var (groupId, devices) = await GroupAsync(Silo, 2, 2, 1);
        var sender = devices[0];
        await using var socket = await TestSocket.ConnectAsync(Silo, devices[3], Cancel);
        await socket.ReadBacklogAsync();
        using var http = sender.CreateClient(Silo);

        await SendOkAsync(http, groupId, Body(View(sender, devices)));
        var live = await socket.NextEnvelopeAsync();
        var queued = await Task.WhenAll(devices.Select(d => QueuedAsync(Silo, d)));

        Assert.Empty(queued[0]);
        Assert.All(queued.Skip(1), q => Assert.Single(q));
        foreach (var (envelope, device) in queued.Skip(1).Select((q, i) => (q[0], devices[i + 1])))
        {
            Assert.Equal(groupId, (string?)envelope["groupId"]);
            Assert.Equal(7, (int)envelope["type"]!);
            Assert.Equal((sender.AccountId, sender.DeviceId, device.DeviceId),
                ((string)envelope["sourceAccount"]!, (int)envelope["sourceDevice"]!, (int)envelope["destinationDevice"]!));
            Assert.Equal(Content, Messages.ContentOf(envelope));
        }

        Assert.Equal((string?)queued[3][0]["id"], (string?)live["id"]);
        Assert.Equal(4, queued.Sum(q => q.Length));
    }

    [Fact]
    public async Task Send_ByNonMember_Refused403AndNothingStored()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 1);
        var outsider = await TestAccounts.RegisterAsync(Silo);
        using var http = outsider.CreateClient(Silo);

        var (status, body) = await SendAsync(http, groupId, Body(View(outsider, devices)));

        Assert.Equal((HttpStatusCode.Forbidden, "not_a_member"), (status, (string?)body["error"]));
        Assert.All(await Task.WhenAll(devices.Select(d => QueuedAsync(Silo, d))), Assert.Empty);
    }

    [Fact]
    public async Task Send_UnknownGroup_Refused404()
    {
        var sender = await TestAccounts.RegisterAsync(Silo);
        using var http = sender.CreateClient(Silo);

        var (status, body) = await SendAsync(http, new string('a', 32), Body(View(sender, [])));

        Assert.Equal((HttpStatusCode.NotFound, "not_found"), (status, (string?)body["error"]));
    }

    [Fact]
    public async Task Send_ViewWrongPerAccount_409NamesEachAccountAndMemberAndStoresNothing()
    {
        // Accounts: sender (1 device), b (2 devices), c (1 device), d (1 device); the view leaves out b's companion,
        // invents a device 5 for c, leaves out d and names an outsider.
        var (groupId, devices) = await GroupAsync(Silo, 1, 2, 1, 1);
        var (sender, b2, c, d) = (devices[0], devices[2], devices[3], devices[4]);
        var outsider = await TestAccounts.RegisterAsync(Silo);
        var view = View(sender, [devices[1], c, outsider]);
        view.Single(a => (string?)a!["accountId"] == c.AccountId)!["devices"]!.AsArray().Add(new JsonObject { ["deviceId"] = 5, ["registrationId"] = 1 });
        using var http = sender.CreateClient(Silo);

        var (status, body) = await SendAsync(http, groupId, Body(view));

        Assert.Equal((HttpStatusCode.Conflict, "mismatched_devices"), (status, (string?)body["error"]));
        Assert.Equal([d.AccountId], Strings(body["missingMembers"]));
        Assert.Equal([outsider.AccountId], Strings(body["unknownMembers"]));
        string[] expected = [Flat((b2.AccountId, [2], [])), Flat((c.AccountId, [], [5]))];
        Assert.Equal(expected.Order(StringComparer.Ordinal), Mismatches(body).Select(Flat));
        Assert.All(await Task.WhenAll(devices.Select(x => QueuedAsync(Silo, x))), Assert.Empty);
    }

    [Fact]
    public async Task Send_OwnAccountWrong_409NamesSendersOwnDeviceExtraAndCompanionMissing()
    {
        var (groupId, devices) = await GroupAsync(Silo, 2, 1);
        var sender = devices[0];
        var view = new JsonArray(
            new JsonObject { ["accountId"] = sender.AccountId, ["devices"] = new JsonArray(new JsonObject { ["deviceId"] = 1, ["registrationId"] = sender.RegistrationId }) },
            View(sender, [devices[2]]).Single(a => (string?)a!["accountId"] == devices[2].AccountId)!.DeepClone());
        using var http = sender.CreateClient(Silo);

        var (status, body) = await SendAsync(http, groupId, Body(view));

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal([Flat((sender.AccountId, [2], [1]))], Mismatches(body).Select(Flat));
        Assert.Empty(Strings(body["missingMembers"]));
    }

    [Fact]
    public async Task Send_StaleRegistrationIdOfOneMember_410NamesItsAccountAndDevice()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 2, 1);
        var stale = devices[2];
        using var http = devices[0].CreateClient(Silo);

        var (status, body) = await SendAsync(http, groupId, Body(View(devices[0], devices, d => d == stale ? d.RegistrationId % 16380 + 1 : d.RegistrationId)));

        Assert.Equal((HttpStatusCode.Gone, "stale_devices"), (status, (string?)body["error"]));
        var account = Assert.Single(body["accounts"]!.AsArray());
        Assert.Equal(stale.AccountId, (string?)account!["accountId"]);
        Assert.Equal([stale.DeviceId], Ints(account["staleDevices"]));
        Assert.All(await Task.WhenAll(devices.Select(x => QueuedAsync(Silo, x))), Assert.Empty);
    }

    [Fact]
    public async Task Send_StaleAndMissing_409WinsOver410()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 2, 1);
        using var http = devices[0].CreateClient(Silo);

        var (status, _) = await SendAsync(http, groupId, Body(View(devices[0], [devices[1], devices[3]], d => d == devices[3] ? d.RegistrationId % 16380 + 1 : d.RegistrationId)));

        Assert.Equal(HttpStatusCode.Conflict, status);
    }

    [Fact]
    public async Task Send_AfterMemberLinksAndUnlinksDevice_NextSendMustCoverTheChange()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 1);
        var (sender, b) = (devices[0], devices[1]);
        using var http = sender.CreateClient(Silo);
        await SendOkAsync(http, groupId, Body(View(sender, devices)));

        var companion = await TestAccounts.AddCompanionAsync(Silo, b);
        var (afterLink, linkBody) = await SendAsync(http, groupId, Body(View(sender, devices)));
        await SendOkAsync(http, groupId, Body(View(sender, [.. devices, companion])));
        using var bHttp = b.CreateClient(Silo);
        using (var removed = await bHttp.DeleteAsync($"/v1/devices/{companion.DeviceId}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        var (afterUnlink, unlinkBody) = await SendAsync(http, groupId, Body(View(sender, [.. devices, companion])));

        Assert.Equal(HttpStatusCode.Conflict, afterLink);
        Assert.Equal([Flat((b.AccountId, [companion.DeviceId], []))], Mismatches(linkBody).Select(Flat));
        Assert.Equal(HttpStatusCode.Conflict, afterUnlink);
        Assert.Equal([Flat((b.AccountId, [], [companion.DeviceId]))], Mismatches(unlinkBody).Select(Flat));
    }

    [Fact]
    public async Task Send_AfterMemberRemoved_OldView409AndRemovedDevicesGetNothing()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 1, 2);
        var sender = devices[0];
        var removed = devices[2].AccountId;
        using var http = sender.CreateClient(Silo);
        var (removal, _) = await Groups.SendAsync(http, HttpMethod.Delete, $"/v1/groups/{groupId}/members/{Uri.EscapeDataString(removed)}");

        var (oldView, oldBody) = await SendAsync(http, groupId, Body(View(sender, devices)));
        await SendOkAsync(http, groupId, Body(View(sender, devices.Where(d => d.AccountId != removed))));

        Assert.Equal(HttpStatusCode.OK, removal);
        Assert.Equal(HttpStatusCode.Conflict, oldView);
        Assert.Equal([removed], Strings(oldBody["unknownMembers"]));
        Assert.Single(await QueuedAsync(Silo, devices[1]));
        Assert.All(await Task.WhenAll(devices.Where(d => d.AccountId == removed).Select(d => QueuedAsync(Silo, d))), Assert.Empty);
    }

    [Fact]
    public async Task Send_RetriedWithSameClientMessageId_StoredOnceWithTheSameIds()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 2);
        using var http = devices[0].CreateClient(Silo);
        var body = Body(View(devices[0], devices), clientMessageId: "group-retry-1");

        await SendOkAsync(http, groupId, body);
        await SendOkAsync(http, groupId, body.DeepClone().AsObject());
        await SendOkAsync(http, groupId, Body(View(devices[0], devices), clientMessageId: "group-retry-2"));

        var queued = await Task.WhenAll(devices.Skip(1).Select(d => QueuedAsync(Silo, d)));
        Assert.All(queued, q => Assert.Equal(2, q.Length));
    }

    [Fact]
    public async Task Send_ContentOverLimit_Refused413()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 1);
        using var http = devices[0].CreateClient(Silo);

        var (status, body) = await SendAsync(http, groupId, Body(View(devices[0], devices), content: new string('x', 96 * 1024 + 1)));

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "content_too_large"), (status, (string?)body["error"]));
    }

    [Fact]
    public async Task Send_AccountNamedTwice_Refused400NamingIt()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 1);
        var view = View(devices[0], devices);
        view.Add(view[1]!.DeepClone());
        using var http = devices[0].CreateClient(Silo);

        var (status, body) = await SendAsync(http, groupId, Body(view));

        Assert.Equal((HttpStatusCode.BadRequest, "recipients[2].accountId"), (status, (string?)body["field"]));
    }
}
