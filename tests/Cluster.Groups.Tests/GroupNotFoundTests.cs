using System.Net;
using System.Text.Json.Nodes;
using Cluster.Testing;
using static Cluster.Groups.Tests.GroupSends;
using static Cluster.Groups.Tests.Groups;

namespace Cluster.Groups.Tests;

/// <summary>
/// Calls to a group id no group has, many at once: the group grain of such an id must not go away under the calls
/// queued behind the first one (each forwarded to a new activation that went away too, until Orleans gave up with a
/// rejection the gateway answered 503).
/// </summary>
public sealed class GroupNotFoundTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    [Fact]
    public async Task EveryRoute_ManyConcurrentCallsToAbsentGroup_All404NotFound()
    {
        var caller = await TestAccounts.RegisterAsync(fixture.Silo);
        var other = await TestAccounts.RegisterAsync(fixture.Silo);
        using var http = caller.CreateClient(fixture.Silo);
        var groupId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var path = $"/v1/groups/{groupId}";
        var member = Uri.EscapeDataString(other.AccountId);
        Func<Task<(HttpStatusCode Status, JsonObject Body)>>[] calls =
        [
            () => SendAsync(http, HttpMethod.Get, path),
            () => SendAsync(http, HttpMethod.Post, $"{path}/leave"),
            () => SendAsync(http, HttpMethod.Post, $"{path}/members", new JsonObject { ["members"] = new JsonArray(other.AccountId) }),
            () => SendAsync(http, HttpMethod.Delete, $"{path}/members/{member}"),
            () => SendAsync(http, HttpMethod.Put, $"{path}/admins/{member}"),
            () => SendAsync(http, HttpMethod.Put, $"{path}/info", new JsonObject { ["info"] = "AQID", ["expectedVersion"] = 0 }),
            () => GroupSends.SendAsync(http, groupId, Body(View(caller, []))),
        ];

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).SelectMany(_ => calls).Select(call => Task.Run(call)));

        var wrong = answers.Where(a => (a.Status, (string?)a.Body["error"]) != (HttpStatusCode.NotFound, "not_found")).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {answers.Length} answers were not 404 not_found: {string.Join("; ", wrong.Select(w => $"{(int)w.Status} {w.Body.ToJsonString()}"))}");
    }
}
