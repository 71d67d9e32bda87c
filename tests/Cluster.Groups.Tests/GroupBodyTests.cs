using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Cluster.Groups.Tests.GroupSends;

namespace Cluster.Groups.Tests;

/// <summary>
/// The group body stored once (table <c>group_bodies</c>) for every device's inbox row of a group send, on both engines:
/// counted in the database itself, deleted with its last row (ack, unlink, account deletion, expiry) and not before.
/// </summary>
public sealed class GroupBodyTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>1,000 bytes whose base64 has '+' and '/' in it, so the splice is checked against the JSON writer's own encoding.</summary>
    private static readonly byte[] Ciphertext = [.. Enumerable.Range(0, 1000).Select(i => (byte)(0xF8 + (i % 8)))];

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task Send_ThreeAccountsSixDevices_BodyStoredOnceAndDeletedAfterLastAckOnly(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        await using var silo = await TestSilo.StartAsync(SettingsFor(database), Cancel);
        var (groupId, devices) = await GroupSends.GroupAsync(silo, 2, 2, 2);
        using (var http = devices[0].CreateClient(silo))
        {
            await SendOkAsync(http, groupId, BinaryBody(View(devices[0], devices)));
        }

        var stored = await BodiesAsync(database);
        var rows = await database.QueryAsync("SELECT count(*), max(length(envelope)) FROM inbox WHERE body_id IS NOT NULL");
        var queued = new List<JsonObject>();
        var bodiesAfterEachAck = new List<string>();
        foreach (var device in devices.Skip(1))
        {
            var envelope = Assert.Single(await QueuedAsync(silo, device));
            queued.Add(envelope);
            using var http = device.CreateClient(silo);
            using var ack = await http.DeleteAsync($"/v1/messages/{(string)envelope["id"]!}", Cancel);
            Assert.Equal(HttpStatusCode.NoContent, ack.StatusCode);
            bodiesAfterEachAck.Add(await BodiesAsync(database));
        }

        Assert.Equal("1|1000", stored);
        var (rowCount, longest) = Pair(rows[0]);
        Assert.Equal(5, rowCount);
        Assert.True(longest < Ciphertext.Length, $"an inbox row of {longest} bytes holds the content");
        Assert.All(queued, e => Assert.Equal(Ciphertext, Convert.FromBase64String((string)e["content"]!)));
        Assert.All(queued, e => Assert.Equal((7, groupId), ((int)e["type"]!, (string?)e["groupId"])));
        Assert.Equal(["1|1000", "1|1000", "1|1000", "1|1000", "0|0"], bodiesAfterEachAck);
        Assert.Equal(0, await database.CountAsync("inbox"));
    }

    [Fact]
    public async Task Deliver_LiveAndFromStore_SameEnvelopeAsSentWhole()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var (groupId, devices) = await GroupSends.GroupAsync(silo, 1, 1);
        await using var socket = await TestSocket.ConnectAsync(silo, devices[1], Cancel);
        Assert.Empty(await socket.ReadBacklogAsync());
        using (var http = devices[0].CreateClient(silo))
        {
            await SendOkAsync(http, groupId, BinaryBody(View(devices[0], devices)));
        }

        var live = await socket.NextEnvelopeAsync();
        var stored = Assert.Single(await QueuedAsync(silo, devices[1]));

        Assert.True(JsonNode.DeepEquals(live, stored), $"{live.ToJsonString()} != {stored.ToJsonString()}");
        Assert.Equal(Ciphertext, Convert.FromBase64String((string)live["content"]!));
        Assert.Equal(
            ["id", "type", "groupId", "sourceAccount", "sourceDevice", "destinationDevice", "timestamp", "serverTimestamp", "content", "urgent"],
            live.Select(p => p.Key));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task Expiry_SharedBody_KeptWhileItsRowsLiveDeletedWithThem(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(SettingsFor(database) with
        {
            Time = time,
            Settings = new Dictionary<string, string> { ["Messages:InboxTimeToLive"] = "1.00:00:00" },
        }, Cancel);
        var (groupId, devices) = await GroupSends.GroupAsync(silo, 1, 2);
        using (var http = devices[0].CreateClient(silo))
        {
            await SendOkAsync(http, groupId, BinaryBody(View(devices[0], devices)));
        }

        var inbox = silo.Services.GetRequiredService<IInboxStore>();
        var bodies = silo.Services.GetRequiredService<IGroupBodyStore>();
        time.Advance(TimeSpan.FromHours(23));
        await inbox.DeleteExpiredAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), 100, Cancel);
        await bodies.DeleteExpiredBodiesAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), 100, Cancel);
        var beforeExpiry = await BodiesAsync(database);
        time.Advance(TimeSpan.FromHours(2));
        var unreadable = await QueuedAsync(silo, devices[1]);
        await inbox.DeleteExpiredAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), 100, Cancel);
        await bodies.DeleteExpiredBodiesAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), 100, Cancel);

        Assert.Equal("1|1000", beforeExpiry);
        Assert.Empty(unreadable);
        Assert.Equal("0|0", await BodiesAsync(database));
        Assert.Equal(0, await database.CountAsync("inbox"));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task Restart_SharedBody_SurvivesRetryStoresItOnceEachDeviceGetsItOnce(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        var settings = SettingsFor(database);
        string groupId;
        TestDevice[] devices;
        await using (var silo = await TestSilo.StartAsync(settings, Cancel))
        {
            (groupId, devices) = await GroupSends.GroupAsync(silo, 1, 3);
            using var http = devices[0].CreateClient(silo);
            await SendOkAsync(http, groupId, BinaryBody(View(devices[0], devices), "body-restart-1"));
        }

        var afterStop = await BodiesAsync(database);
        await using var restarted = await TestSilo.StartAsync(settings with { }, Cancel);
        using (var http = devices[0].CreateClient(restarted))
        {
            await SendOkAsync(http, groupId, BinaryBody(View(devices[0], devices), "body-restart-1"));
        }

        var afterRetry = await BodiesAsync(database);
        var backlogs = new List<List<JsonObject>>();
        foreach (var device in devices.Skip(1))
        {
            await using var socket = await TestSocket.ConnectAsync(restarted, device, Cancel);
            var backlog = await socket.ReadBacklogAsync();
            backlogs.Add(backlog);
            using var http = device.CreateClient(restarted);
            foreach (var envelope in backlog)
            {
                using var ack = await http.DeleteAsync($"/v1/messages/{(string)envelope["id"]!}", Cancel);
                Assert.Equal(HttpStatusCode.NoContent, ack.StatusCode);
            }
        }

        Assert.Equal("1|1000", afterStop);
        Assert.Equal("1|1000", afterRetry);
        Assert.All(backlogs, b => Assert.Equal(Ciphertext, Convert.FromBase64String((string)Assert.Single(b)["content"]!)));
        Assert.Equal("0|0", await BodiesAsync(database));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task Purge_UnlinkAndAccountDeletion_ReleaseTheirReferencesLastOneDeletesBody(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        await using var silo = await TestSilo.StartAsync(SettingsFor(database), Cancel);
        var (groupId, devices) = await GroupSends.GroupAsync(silo, 1, 2, 1);
        var (bob, bobCompanion, carol) = (devices[1], devices[2], devices[3]);
        using (var http = devices[0].CreateClient(silo))
        {
            await SendOkAsync(http, groupId, BinaryBody(View(devices[0], devices)));
        }

        using var bobHttp = bob.CreateClient(silo);
        var bobEnvelope = Assert.Single(await QueuedAsync(silo, bob));
        using (var ack = await bobHttp.DeleteAsync($"/v1/messages/{(string)bobEnvelope["id"]!}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, ack.StatusCode);
        }

        var afterAck = await BodiesAsync(database);
        using (var unlink = await bobHttp.DeleteAsync($"/v1/devices/{bobCompanion.DeviceId}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, unlink.StatusCode);
        }

        var afterUnlink = await BodiesAsync(database);
        var carolRowsBefore = await database.CountAsync("inbox");
        using (var carolHttp = carol.CreateClient(silo))
        using (var deleted = await carolHttp.DeleteAsync($"/v1/account?confirm={Uri.EscapeDataString(carol.AccountId)}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Equal("1|1000", afterAck);
        Assert.Equal("1|1000", afterUnlink);
        Assert.Equal(1, carolRowsBefore);
        Assert.Equal("0|0", await BodiesAsync(database));
        Assert.Equal(0, await database.CountAsync("inbox"));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task Quota_GroupCopiesOverQueueLength_OldestDroppedAndItsBodyWithIt(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        await using var silo = await TestSilo.StartAsync(SettingsFor(database) with
        {
            Settings = new Dictionary<string, string> { ["Messages:MaxQueueLength"] = "2" },
        }, Cancel);
        var (groupId, devices) = await GroupSends.GroupAsync(silo, 1, 1);
        using (var http = devices[0].CreateClient(silo))
        {
            for (var i = 0; i < 3; i++)
            {
                await SendOkAsync(http, groupId, Body(View(devices[0], devices), $"m{i}"));
            }
        }

        var queued = await QueuedAsync(silo, devices[1]);

        Assert.Equal(["m1", "m2"], queued.Select(Messages.ContentOf));
        Assert.Equal(2, await database.CountAsync("group_bodies"));
    }

    private static TestSiloSettings SettingsFor(TestDatabase database) => database.Kind == StorageKind.Sqlite
        ? new TestSiloSettings { DataPath = database.SqlitePath }
        : new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"group-bodies-{Guid.NewGuid():N}" };

    private static JsonObject BinaryBody(JsonArray view, string? clientMessageId = null)
    {
        var body = Body(view, clientMessageId: clientMessageId);
        body["content"] = Convert.ToBase64String(Ciphertext);
        return body;
    }

    /// <summary>"rows|bytes" of the group bodies stored.</summary>
    private static async Task<string> BodiesAsync(TestDatabase database) =>
        (await database.QueryAsync("SELECT count(*), coalesce(sum(length(content)), 0) FROM group_bodies"))[0];

    private static (long, long) Pair(string row) =>
        row.Split('|') is [var a, var b] ? (long.Parse(a, CultureInfo.InvariantCulture), long.Parse(b, CultureInfo.InvariantCulture)) : throw new FormatException(row);
}
