using System.Net;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Accounts;
using Cluster.Testing;
using static Cluster.Groups.Tests.GroupSends;
using static Cluster.Groups.Tests.Groups;

namespace Cluster.Groups.Tests;

/// <summary>
/// Who may do what, route by route: accounts outside the group (never in it, or removed) are refused everything; rights
/// belong to the account (any of its devices), so a demoted admin loses them on every device and an admin's companion
/// has them; and the send's 409/410 name every member account that differs.
/// </summary>
public sealed class GroupRightsTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private TestSilo Silo => fixture.Silo;

    [Fact]
    public async Task EveryRoute_ByOutsiderAndRemovedMember_Refused403NotAMemberAndNothingChanges()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 1, 1);
        var (admin, member, removed) = (devices[0], devices[1], devices[2]);
        var outsider = await TestAccounts.RegisterAsync(Silo);
        using var adminHttp = admin.CreateClient(Silo);
        await SendAsync(adminHttp, HttpMethod.Delete, $"/v1/groups/{groupId}/members/{Uri.EscapeDataString(removed.AccountId)}");
        var (_, before) = await SendAsync(adminHttp, HttpMethod.Get, $"/v1/groups/{groupId}");

        var refusals = new List<string>();
        foreach (var caller in new[] { outsider, removed })
        {
            using var http = caller.CreateClient(Silo);
            foreach (var (route, answer) in await EveryRouteAsync(http, groupId, caller, [admin, member]))
            {
                if ((answer.Status, (string?)answer.Body["error"]) != (HttpStatusCode.Forbidden, "not_a_member"))
                {
                    refusals.Add($"{caller.AccountId} {route}: {(int)answer.Status} {answer.Body.ToJsonString()}");
                }
            }
        }

        var (_, after) = await SendAsync(adminHttp, HttpMethod.Get, $"/v1/groups/{groupId}");
        Assert.True(refusals.Count == 0, string.Join("\n", refusals));
        Assert.Equal(before.ToJsonString(), after.ToJsonString());
        Assert.All(await Task.WhenAll(devices.Append(outsider).Select(d => QueuedAsync(Silo, d))), Assert.Empty);
    }

    [Fact]
    public async Task AdminRights_BelongToTheAccount_CompanionOfAdminMayDemotedAdminMayNot()
    {
        var (groupId, devices) = await GroupAsync(Silo, 2, 2, 1);
        var (adminCompanion, former, formerCompanion) = (devices[1], devices[2], devices[3]);
        var newcomer = await TestAccounts.RegisterAsync(Silo);
        var path = $"/v1/groups/{groupId}";
        using var viaCompanion = adminCompanion.CreateClient(Silo);

        var (promoted, _) = await SendAsync(viaCompanion, HttpMethod.Put, $"{path}/admins/{Uri.EscapeDataString(former.AccountId)}");
        var (demoted, _) = await SendAsync(viaCompanion, HttpMethod.Delete, $"{path}/admins/{Uri.EscapeDataString(former.AccountId)}");
        var refusals = new List<(HttpStatusCode Status, JsonObject Body)>();
        foreach (var device in new[] { former, formerCompanion })
        {
            using var http = device.CreateClient(Silo);
            refusals.Add(await SendAsync(http, HttpMethod.Post, $"{path}/members", new JsonObject { ["members"] = new JsonArray(newcomer.AccountId) }));
            refusals.Add(await SendAsync(http, HttpMethod.Delete, $"{path}/members/{Uri.EscapeDataString(devices[4].AccountId)}"));
            refusals.Add(await SendAsync(http, HttpMethod.Put, $"{path}/admins/{Uri.EscapeDataString(devices[4].AccountId)}"));
            refusals.Add(await SendAsync(http, HttpMethod.Delete, $"{path}/admins/{Uri.EscapeDataString(devices[0].AccountId)}"));
            refusals.Add(await SendAsync(http, HttpMethod.Put, $"{path}/info", new JsonObject { ["info"] = "AQID", ["expectedVersion"] = 0 }));
        }

        var (added, group) = await SendAsync(viaCompanion, HttpMethod.Post, $"{path}/members", new JsonObject { ["members"] = new JsonArray(newcomer.AccountId) });

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (promoted, demoted));
        Assert.All(refusals, r => Assert.Equal((HttpStatusCode.Forbidden, "not_an_admin"), (r.Status, (string?)r.Body["error"])));
        Assert.Equal(HttpStatusCode.OK, added);
        Assert.Equal([devices[0].AccountId], Strings(group["admins"]));
        Assert.Contains(newcomer.AccountId, Strings(group["members"]));
        Assert.Equal(4, (long)group["membershipVersion"]!);
    }

    [Fact]
    public async Task Send_EveryMemberAccountDiffers_409HasOneEntryPerAccountWithItsOwnLists()
    {
        // The sender's own account leaves out its companion; b names its primary and an invented device 9 but not its
        // companion; c names none of its one device.
        var (groupId, devices) = await GroupAsync(Silo, 2, 2, 1);
        var (sender, b1, c) = (devices[0], devices[2], devices[4]);
        var view = new JsonArray(
            Account(sender.AccountId),
            Account(b1.AccountId, (1, b1.RegistrationId), (9, 1)),
            Account(c.AccountId));
        using var http = sender.CreateClient(Silo);

        var (status, body) = await SendAsync(http, groupId, Body(view));

        Assert.Equal((HttpStatusCode.Conflict, "mismatched_devices"), (status, (string?)body["error"]));
        var expected = new (string, int[], int[])[] { (sender.AccountId, [2], []), (b1.AccountId, [2], [9]), (c.AccountId, [1], []) };
        Assert.Equal(expected.Select(Flat).Order(StringComparer.Ordinal), Mismatches(body).Select(Flat).Order(StringComparer.Ordinal));
        Assert.Empty(Strings(body["missingMembers"]));
        Assert.Empty(Strings(body["unknownMembers"]));
        Assert.All(await Task.WhenAll(devices.Select(d => QueuedAsync(Silo, d))), Assert.Empty);
    }

    [Fact]
    public async Task Send_StaleDevicesInSeveralAccounts_410NamesEachAccountsStaleDevicesOnly()
    {
        // Stale: the sender's own companion, b's companion and c's primary; b's primary is current.
        var (groupId, devices) = await GroupAsync(Silo, 2, 2, 1);
        var stale = new[] { devices[1], devices[3], devices[4] };
        using var http = devices[0].CreateClient(Silo);

        var (status, body) = await SendAsync(http, groupId, Body(View(devices[0], devices, d => stale.Contains(d) ? d.RegistrationId % 16380 + 1 : d.RegistrationId)));

        Assert.Equal((HttpStatusCode.Gone, "stale_devices"), (status, (string?)body["error"]));
        var named = body["accounts"]!.AsArray().Select(a => $"{(string)a!["accountId"]!} [{string.Join(',', Ints(a["staleDevices"]))}]").Order(StringComparer.Ordinal);
        Assert.Equal(stale.Select(d => $"{d.AccountId} [{d.DeviceId}]").Order(StringComparer.Ordinal), named);
        Assert.All(await Task.WhenAll(devices.Select(d => QueuedAsync(Silo, d))), Assert.Empty);
    }

    [Fact]
    public async Task AddMembers_1025thMember_Refused409GroupFullAndTheGroupKeeps1024()
    {
        // Accounts made through their grains (no password hashing): the default cap, 1,024, is what is tested.
        var creator = await TestAccounts.RegisterAsync(Silo);
        var others = new List<string>();
        while (others.Count < 1024)
        {
            others.AddRange(await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => GrainAccountAsync())));
        }

        using var http = creator.CreateClient(Silo);
        var groupId = await CreatedAsync(http, [.. others.Take(100)]);
        foreach (var chunk in others.Take(1022).Skip(100).Chunk(128))
        {
            var (status, body) = await SendAsync(http, HttpMethod.Post, $"/v1/groups/{groupId}/members", new JsonObject { ["members"] = new JsonArray([.. chunk.Select(m => JsonValue.Create(m))]) });
            Assert.True(status == HttpStatusCode.OK, $"{(int)status} {body.ToJsonString()}");
        }

        var (filled, full) = await SendAsync(http, HttpMethod.Post, $"/v1/groups/{groupId}/members", new JsonObject { ["members"] = new JsonArray(others[1022]) });
        var (refused, refusal) = await SendAsync(http, HttpMethod.Post, $"/v1/groups/{groupId}/members", new JsonObject { ["members"] = new JsonArray(others[1023]) });
        var (created, createdBody) = await CreateAsync(http, [.. others]);
        var (_, after) = await SendAsync(http, HttpMethod.Get, $"/v1/groups/{groupId}");

        Assert.Equal(HttpStatusCode.OK, filled);
        Assert.Equal(1024, Strings(full["members"]).Length);
        Assert.Equal((HttpStatusCode.Conflict, "group_full"), (refused, (string?)refusal["error"]));
        Assert.Equal((HttpStatusCode.Conflict, "group_full"), (created, (string?)createdBody["error"]));
        Assert.Equal(1024, Strings(after["members"]).Length);
        Assert.DoesNotContain(others[1023], Strings(after["members"]));
        Assert.Equal((long)full["membershipVersion"]!, (long)after["membershipVersion"]!);
    }

    /// <summary>Each route of a group, called by <paramref name="caller"/> with a well-formed request naming <paramref name="members"/>.</summary>
    private static async Task<List<(string Route, (HttpStatusCode Status, JsonObject Body) Answer)>> EveryRouteAsync(
        HttpClient http, string groupId, TestDevice caller, TestDevice[] members)
    {
        var path = $"/v1/groups/{groupId}";
        var someone = Uri.EscapeDataString(members[1].AccountId);
        return
        [
            ("GET", await SendAsync(http, HttpMethod.Get, path)),
            ("leave", await SendAsync(http, HttpMethod.Post, $"{path}/leave")),
            ("add", await SendAsync(http, HttpMethod.Post, $"{path}/members", new JsonObject { ["members"] = new JsonArray(caller.AccountId) })),
            ("remove", await SendAsync(http, HttpMethod.Delete, $"{path}/members/{someone}")),
            ("promote", await SendAsync(http, HttpMethod.Put, $"{path}/admins/{someone}")),
            ("demote", await SendAsync(http, HttpMethod.Delete, $"{path}/admins/{Uri.EscapeDataString(members[0].AccountId)}")),
            ("info", await SendAsync(http, HttpMethod.Put, $"{path}/info", new JsonObject { ["info"] = "AQID", ["expectedVersion"] = 0 })),
            ("send", await GroupSends.SendAsync(http, groupId, Body(View(caller, members)))),
        ];
    }

    private async Task<string> GrainAccountAsync()
    {
        var accountId = TestAccounts.NewAccountId();
        var registered = await Silo.Grains.GetGrain<IAccountGrain>(accountId).RegisterAsync(new()
        {
            PasswordHash = "unused: this account never signs in",
            RegistrationId = 1,
            IdentityKey = [.. Enumerable.Repeat((byte)5, 33)],
            Keys = new(),
        });
        Assert.True(registered, $"{accountId} exists already");
        return accountId;
    }

    private static JsonObject Account(string accountId, params (int DeviceId, int RegistrationId)[] devices) => new()
    {
        ["accountId"] = accountId,
        ["devices"] = new JsonArray([.. devices.Select(d => (JsonNode)new JsonObject { ["deviceId"] = d.DeviceId, ["registrationId"] = d.RegistrationId })]),
    };
}
