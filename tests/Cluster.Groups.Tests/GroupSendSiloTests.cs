using System.Net;
using Cluster.Persistence;
using Cluster.Testing;
using static Cluster.Groups.Tests.GroupSends;
using static Cluster.Groups.Tests.Groups;

namespace Cluster.Groups.Tests;

/// <summary>Group send on silos of their own: restarts on both engines, small limits.</summary>
public sealed class GroupSendSiloTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Restart_Embedded_GroupCopiesDurableAndRetryStoresNothing()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-group-send-").FullName, "cluster.db");
        await AssertDurableAsync(new TestSiloSettings { DataPath = dataPath });
    }

    [Fact]
    public async Task Restart_Postgres_GroupCopiesDurableAndRetryStoresNothing()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await AssertDurableAsync(new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"group-send-{Guid.NewGuid():N}" });
    }

    [Fact]
    public async Task Restart_Embedded_AckedCopyNeverAgainUnackedAndLaterOnesOnceEach()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-group-once-").FullName, "cluster.db");
        await AssertOnceAcrossRestartAsync(new TestSiloSettings { DataPath = dataPath });
    }

    [Fact]
    public async Task Restart_Postgres_AckedCopyNeverAgainUnackedAndLaterOnesOnceEach()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await AssertOnceAcrossRestartAsync(new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"group-once-{Guid.NewGuid():N}" });
    }

    [Fact]
    public async Task Limits_GroupsPerAccountAndPerDeviceRates_409And429WithRetryAfter()
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string>
            {
                ["Groups:MaxGroupsPerAccount"] = "2",
                ["GroupLimits:SendsPerDeviceBurst"] = "2",
                ["GroupLimits:SendsPerDeviceRefillSeconds"] = "86400",
                ["GroupLimits:ChangesPerDeviceBurst"] = "3",
                ["GroupLimits:ChangesPerDeviceRefillSeconds"] = "86400",
            },
        }, Cancel);
        var people = await AccountsAsync(silo, 2);
        using var a = people[0].CreateClient(silo);
        using var c = people[1].CreateClient(silo);

        var first = await CreatedAsync(a);
        await CreatedAsync(a);
        var (thirdGroup, thirdBody) = await CreateAsync(a);
        var (overChanges, _) = await CreateAsync(a);
        var other = await CreatedAsync(c);
        var (added, addedBody) = await Groups.SendAsync(c, HttpMethod.Post, $"/v1/groups/{other}/members", new System.Text.Json.Nodes.JsonObject
        {
            ["members"] = new System.Text.Json.Nodes.JsonArray(people[0].AccountId),
        });
        await SendOkAsync(a, first, Body(View(people[0], [])));
        await SendOkAsync(a, first, Body(View(people[0], [])));
        using var overSends = await a.PutAsync(
            $"/v1/groups/{first}/messages", System.Net.Http.Json.JsonContent.Create(Body(View(people[0], []))), Cancel);
        var overSendsBody = await overSends.Content.ReadAsStringAsync(Cancel);

        Assert.Equal((HttpStatusCode.Conflict, "too_many_groups"), (thirdGroup, (string?)thirdBody["error"]));
        Assert.Equal(HttpStatusCode.TooManyRequests, overChanges);
        Assert.Equal((HttpStatusCode.Conflict, "too_many_groups"), (added, (string?)addedBody["error"]));
        Assert.Contains(people[0].AccountId, (string?)addedBody["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, overSends.StatusCode);
        Assert.Contains("\"group_sends_device\"", overSendsBody, StringComparison.Ordinal);
        Assert.True(overSends.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Before the restart one device acks both group messages it got live and another reads them without acking; after
    /// it, a retry of the second (same clientMessageId) and a third send: the acking device gets only the third, the
    /// other the first two again with the same ids and then the third, a device never connected all three, each once;
    /// once acked, nothing comes again.
    /// </summary>
    private static async Task AssertOnceAcrossRestartAsync(TestSiloSettings settings)
    {
        string groupId;
        TestDevice[] devices;
        string[] readBefore;
        await using (var silo = await TestSilo.StartAsync(settings, Cancel))
        {
            (groupId, devices) = await GroupAsync(silo, 1, 2, 1);
            await using var acking = await TestSocket.ConnectAsync(silo, devices[1], Cancel);
            await using var reading = await TestSocket.ConnectAsync(silo, devices[2], Cancel);
            await acking.ReadBacklogAsync();
            await reading.ReadBacklogAsync();
            using var http = devices[0].CreateClient(silo);
            await SendOkAsync(http, groupId, Body(View(devices[0], devices), "one"));
            await SendOkAsync(http, groupId, Body(View(devices[0], devices), "two", clientMessageId: "once-2"));
            var acked = new[] { await acking.NextEnvelopeAsync(), await acking.NextEnvelopeAsync() };
            var read = new[] { await reading.NextEnvelopeAsync(), await reading.NextEnvelopeAsync() };
            await acking.AckAsync(acked);

            // The server reads the ack before the close, so once the close completes the ack has been applied.
            await acking.DisposeAsync();
            Assert.Equal(["one", "two"], acked.Select(Messages.ContentOf));
            readBefore = [.. read.Select(e => (string)e["id"]!)];
        }

        await using var restarted = await TestSilo.StartAsync(settings with { }, Cancel);
        using (var http = devices[0].CreateClient(restarted))
        {
            await SendOkAsync(http, groupId, Body(View(devices[0], devices), "two", clientMessageId: "once-2"));
            await SendOkAsync(http, groupId, Body(View(devices[0], devices), "three"));
        }

        var backlogs = new List<List<System.Text.Json.Nodes.JsonObject>>();
        foreach (var device in devices.Skip(1))
        {
            await using var socket = await TestSocket.ConnectAsync(restarted, device, Cancel);
            var backlog = await socket.ReadBacklogAsync();
            await socket.AckAsync(backlog);
            backlogs.Add(backlog);
        }

        var again = await Task.WhenAll(devices.Select(d => QueuedAsync(restarted, d)));

        Assert.Equal(["three"], backlogs[0].Select(Messages.ContentOf));
        Assert.Equal(["one", "two", "three"], backlogs[1].Select(Messages.ContentOf));
        Assert.Equal(readBefore, backlogs[1].Take(2).Select(e => (string)e["id"]!));
        Assert.Equal(["one", "two", "three"], backlogs[2].Select(Messages.ContentOf));
        Assert.All(backlogs, b => Assert.Equal(b.Count, b.Select(e => (string)e["id"]!).Distinct().Count()));
        Assert.All(again, Assert.Empty);
    }

    private static async Task AssertDurableAsync(TestSiloSettings settings)
    {
        string groupId;
        TestDevice[] devices;
        await using (var silo = await TestSilo.StartAsync(settings, Cancel))
        {
            (groupId, devices) = await GroupAsync(silo, 1, 2, 1);
            using var http = devices[0].CreateClient(silo);
            await SendOkAsync(http, groupId, Body(View(devices[0], devices), "before", clientMessageId: "durable-1"));
        }

        await using var restarted = await TestSilo.StartAsync(settings with { }, Cancel);
        using (var http = devices[0].CreateClient(restarted))
        {
            await SendOkAsync(http, groupId, Body(View(devices[0], devices), "before", clientMessageId: "durable-1"));
            await SendOkAsync(http, groupId, Body(View(devices[0], devices), "after"));
        }

        await using var socket = await TestSocket.ConnectAsync(restarted, devices[2], Cancel);
        var backlog = await socket.ReadBacklogAsync();
        var queued = await Task.WhenAll(devices.Skip(1).Select(d => QueuedAsync(restarted, d)));

        Assert.Equal(["before", "after"], backlog.Select(Messages.ContentOf));
        Assert.All(queued, q => Assert.Equal(["before", "after"], q.Select(Messages.ContentOf)));
        Assert.Empty(await QueuedAsync(restarted, devices[0]));
    }
}
