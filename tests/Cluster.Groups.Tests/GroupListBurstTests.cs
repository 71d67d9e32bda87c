using System.Net;
using Cluster.Testing;
using static Cluster.Groups.Tests.Groups;

namespace Cluster.Groups.Tests;

/// <summary>
/// An account leaving its last group while many of its own listings are under way: the account's group list is
/// deleted on the way, and every listing still answers 200, none a 5xx from an activation that went away under the queue.
/// </summary>
public sealed class GroupListBurstTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    [Fact]
    public async Task Leave_LastGroupDuringManyConcurrentListings_Every200()
    {
        var people = await AccountsAsync(fixture.Silo, 2);
        using var admin = people[0].CreateClient(fixture.Silo);
        using var member = people[1].CreateClient(fixture.Silo);
        var groupId = await CreatedAsync(admin, people[1].AccountId);

        var listings = Enumerable.Range(0, 56).Select(_ => Task.Run(() => SendAsync(member, HttpMethod.Get, "/v1/groups"))).ToList();
        var leave = Task.Run(() => SendAsync(member, HttpMethod.Post, $"/v1/groups/{groupId}/leave"));
        var answers = await Task.WhenAll(listings);

        Assert.Equal(HttpStatusCode.OK, (await leave).Status);
        var wrong = answers.Where(a => a.Status != HttpStatusCode.OK || Strings(a.Body["groups"]) is not ([] or [_])).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {answers.Length} listings were not 200 with at most the one group: {string.Join("; ", wrong.Select(w => $"{(int)w.Status} {w.Body.ToJsonString()}"))}");
        var (status, after) = await SendAsync(member, HttpMethod.Get, "/v1/groups");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(Strings(after["groups"]));
    }
}
