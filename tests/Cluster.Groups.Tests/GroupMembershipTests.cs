using System.Net;
using System.Text.Json.Nodes;
using Cluster.Testing;
using static Cluster.Groups.Tests.Groups;

namespace Cluster.Groups.Tests;

/// <summary>Group membership and rights through the HTTP routes of a real silo.</summary>
public sealed class GroupMembershipTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    [Fact]
    public async Task Create_WithMembers_CreatorIsOnlyAdminAndEveryoneSeesIt()
    {
        var people = await AccountsAsync(fixture.Silo, 3);
        using var a = people[0].CreateClient(fixture.Silo);
        using var b = people[1].CreateClient(fixture.Silo);
        var groupId = await CreatedAsync(a, people[1].AccountId, people[2].AccountId);

        var (status, group) = await SendAsync(b, HttpMethod.Get, $"/v1/groups/{groupId}");
        var (_, list) = await SendAsync(b, HttpMethod.Get, "/v1/groups");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(people.Select(p => p.AccountId).Order(StringComparer.Ordinal), Strings(group["members"]));
        Assert.Equal([people[0].AccountId], Strings(group["admins"]));
        Assert.Equal(1, (long)group["membershipVersion"]!);
        Assert.Contains(groupId, Strings(list["groups"]));
    }

    [Fact]
    public async Task AdminOperations_ByNonAdmin_Refused403AndNothingChanges()
    {
        var people = await AccountsAsync(fixture.Silo, 3);
        using var a = people[0].CreateClient(fixture.Silo);
        using var b = people[1].CreateClient(fixture.Silo);
        var groupId = await CreatedAsync(a, people[1].AccountId);
        var path = $"/v1/groups/{groupId}";

        var refusals = new[]
        {
            await SendAsync(b, HttpMethod.Post, $"{path}/members", new JsonObject { ["members"] = new JsonArray(people[2].AccountId) }),
            await SendAsync(b, HttpMethod.Delete, $"{path}/members/{Uri.EscapeDataString(people[0].AccountId)}"),
            await SendAsync(b, HttpMethod.Put, $"{path}/admins/{Uri.EscapeDataString(people[1].AccountId)}"),
            await SendAsync(b, HttpMethod.Delete, $"{path}/admins/{Uri.EscapeDataString(people[0].AccountId)}"),
            await SendAsync(b, HttpMethod.Put, $"{path}/info", new JsonObject { ["info"] = "AQID", ["expectedVersion"] = 0 }),
        };
        var (_, after) = await SendAsync(a, HttpMethod.Get, path);

        Assert.All(refusals, r => Assert.Equal((HttpStatusCode.Forbidden, "not_an_admin"), (r.Status, (string?)r.Body["error"])));
        Assert.Equal(1, (long)after["membershipVersion"]!);
        Assert.Equal(0, (long)after["infoVersion"]!);
    }

    [Fact]
    public async Task Fetch_ByNonMember_Refused403()
    {
        var people = await AccountsAsync(fixture.Silo, 2);
        using var a = people[0].CreateClient(fixture.Silo);
        using var outsider = people[1].CreateClient(fixture.Silo);
        var groupId = await CreatedAsync(a);

        var (status, body) = await SendAsync(outsider, HttpMethod.Get, $"/v1/groups/{groupId}");
        var (leaveStatus, _) = await SendAsync(outsider, HttpMethod.Post, $"/v1/groups/{groupId}/leave");

        Assert.Equal((HttpStatusCode.Forbidden, "not_a_member"), (status, (string?)body["error"]));
        Assert.Equal(HttpStatusCode.Forbidden, leaveStatus);
    }

    [Fact]
    public async Task RemoveAndLeave_ByAdminAndMember_RemovedAccountLosesAccess()
    {
        var people = await AccountsAsync(fixture.Silo, 3);
        using var a = people[0].CreateClient(fixture.Silo);
        using var b = people[1].CreateClient(fixture.Silo);
        using var c = people[2].CreateClient(fixture.Silo);
        var groupId = await CreatedAsync(a, people[1].AccountId, people[2].AccountId);

        var (removed, afterRemove) = await SendAsync(a, HttpMethod.Delete, $"/v1/groups/{groupId}/members/{Uri.EscapeDataString(people[1].AccountId)}");
        var (left, afterLeave) = await SendAsync(c, HttpMethod.Post, $"/v1/groups/{groupId}/leave");
        var (fetch, _) = await SendAsync(b, HttpMethod.Get, $"/v1/groups/{groupId}");
        var (_, list) = await SendAsync(b, HttpMethod.Get, "/v1/groups");

        Assert.Equal(HttpStatusCode.OK, removed);
        Assert.Equal(2, (long)afterRemove["membershipVersion"]!);
        Assert.Equal(HttpStatusCode.OK, left);
        Assert.Equal([people[0].AccountId], Strings(afterLeave["members"]));
        Assert.Equal(HttpStatusCode.Forbidden, fetch);
        Assert.DoesNotContain(groupId, Strings(list["groups"]));
    }

    [Fact]
    public async Task PromoteDemote_LastAdminDemotion_Refused409()
    {
        var people = await AccountsAsync(fixture.Silo, 2);
        using var a = people[0].CreateClient(fixture.Silo);
        var groupId = await CreatedAsync(a, people[1].AccountId);
        var self = Uri.EscapeDataString(people[0].AccountId);

        var (lastStatus, last) = await SendAsync(a, HttpMethod.Delete, $"/v1/groups/{groupId}/admins/{self}");
        var (_, promoted) = await SendAsync(a, HttpMethod.Put, $"/v1/groups/{groupId}/admins/{Uri.EscapeDataString(people[1].AccountId)}");
        var (demoteStatus, demoted) = await SendAsync(a, HttpMethod.Delete, $"/v1/groups/{groupId}/admins/{self}");

        Assert.Equal((HttpStatusCode.Conflict, "last_admin"), (lastStatus, (string?)last["error"]));
        Assert.Equal(2, Strings(promoted["admins"]).Length);
        Assert.Equal(HttpStatusCode.OK, demoteStatus);
        Assert.Equal([people[1].AccountId], Strings(demoted["admins"]));
    }

    [Fact]
    public async Task SetInfo_StaleExpectedVersion_Refused409()
    {
        var people = await AccountsAsync(fixture.Silo, 1);
        using var a = people[0].CreateClient(fixture.Silo);
        var groupId = await CreatedAsync(a);

        var (okStatus, ok) = await SendAsync(a, HttpMethod.Put, $"/v1/groups/{groupId}/info", new JsonObject { ["info"] = "AQID", ["expectedVersion"] = 0 });
        var (staleStatus, stale) = await SendAsync(a, HttpMethod.Put, $"/v1/groups/{groupId}/info", new JsonObject { ["info"] = "BAUG", ["expectedVersion"] = 0 });

        Assert.Equal((HttpStatusCode.OK, 1L, "AQID"), (okStatus, (long)ok["infoVersion"]!, (string?)ok["info"]));
        Assert.Equal((HttpStatusCode.Conflict, "info_version_conflict"), (staleStatus, (string?)stale["error"]));
    }

    [Fact]
    public async Task Create_UnknownMemberOrBadIds_Refused()
    {
        var people = await AccountsAsync(fixture.Silo, 1);
        using var a = people[0].CreateClient(fixture.Silo);

        var (unknown, unknownBody) = await CreateAsync(a, TestAccounts.NewAccountId());
        var (bad, badBody) = await CreateAsync(a, "not-a-number");
        var (badGroup, _) = await SendAsync(a, HttpMethod.Get, "/v1/groups/XYZ");
        var (_, list) = await SendAsync(a, HttpMethod.Get, "/v1/groups");

        Assert.Equal((HttpStatusCode.NotFound, "unknown_account"), (unknown, (string?)unknownBody["error"]));
        Assert.Equal((HttpStatusCode.BadRequest, "members[0]"), (bad, (string?)badBody["field"]));
        Assert.Equal(HttpStatusCode.BadRequest, badGroup);
        Assert.Empty(Strings(list["groups"]));
    }
}

/// <summary>The member cap, with a cap of 3 so the test stays small (the default is 1,024).</summary>
public sealed class GroupCapTests
{
    [Fact]
    public async Task AddMembers_PastCap_Refused409GroupFull()
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Settings = new Dictionary<string, string> { ["Groups:MaxMembers"] = "3" } }, TestContext.Current.CancellationToken);
        var people = await AccountsAsync(silo, 4);
        using var a = people[0].CreateClient(silo);
        var groupId = await CreatedAsync(a, people[1].AccountId, people[2].AccountId);

        var (status, body) = await SendAsync(a, HttpMethod.Post, $"/v1/groups/{groupId}/members", new JsonObject { ["members"] = new JsonArray(people[3].AccountId) });
        var (createStatus, _) = await CreateAsync(a, people[1].AccountId, people[2].AccountId, people[3].AccountId);
        var (_, group) = await SendAsync(a, HttpMethod.Get, $"/v1/groups/{groupId}");

        Assert.Equal((HttpStatusCode.Conflict, "group_full"), (status, (string?)body["error"]));
        Assert.Equal(HttpStatusCode.Conflict, createStatus);
        Assert.Equal(3, Strings(group["members"]).Length);
    }
}
