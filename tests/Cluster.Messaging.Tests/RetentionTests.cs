using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Messaging.Tests;

/// <summary>Tests that need a silo of their own: a fake clock, small limits, restarts, shutdown.</summary>
public sealed class RetentionTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Expiry_EnvelopeOlderThanTimeToLive_NeverDelivered()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Time = time,
            Settings = new Dictionary<string, string> { ["Messages:InboxTimeToLive"] = "1.00:00:00" },
        }, Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "old"), Cancel);
        time.Advance(TimeSpan.FromHours(23));
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "young"), Cancel);

        time.Advance(TimeSpan.FromHours(2));
        using var receiver = bob.CreateClient(silo);
        var page = await receiver.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);
        await using var socket = await TestSocket.ConnectAsync(silo, bob, Cancel);
        var backlog = await socket.ReadBacklogAsync();

        Assert.Equal(["young"], page!["envelopes"]!.AsArray().Select(e => Messages.ContentOf(e!.AsObject()).Split(' ')[0]));
        Assert.Equal(["young"], backlog.Select(e => Messages.ContentOf(e).Split(' ')[0]));
    }

    [Fact]
    public async Task Quota_QueueOverLimit_OldestDroppedAndDeviceToldOnConnect()
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["Messages:MaxQueueLength"] = "5" },
        }, Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        for (var i = 0; i < 8; i++)
        {
            await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], $"m{i}"), Cancel);
        }

        await using var socket = await TestSocket.ConnectAsync(silo, bob, Cancel);
        var overflow = await socket.NextAsync("a queueOverflow event");
        var backlog = await socket.ReadBacklogAsync();

        Assert.Equal("queueOverflow", (string?)overflow["event"]?["type"]);
        Assert.Equal(3, (int)overflow["event"]!["dropped"]!);
        Assert.Equal(["m3", "m4", "m5", "m6", "m7"], backlog.Select(e => Messages.ContentOf(e).Split(' ')[0]));
    }

    [Fact]
    public async Task Restart_EmbeddedOfflineMessages_DeliveredInOrderAfterward()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-durable-").FullName, "cluster.db");
        await AssertDurableAsync(new TestSiloSettings { DataPath = dataPath });
    }

    [Fact]
    public async Task Restart_PostgresOfflineMessages_DeliveredInOrderAfterward()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await Cluster.Persistence.SchemaMigrator.MigrateAsync(Cluster.Persistence.StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await AssertDurableAsync(new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"durable-{Guid.NewGuid():N}" });
    }

    [Fact]
    public async Task Shutdown_ConnectedSocket_ClosedWith1001()
    {
        var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        await using var _ = silo;
        var bob = await TestAccounts.RegisterAsync(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, bob, Cancel);
        await socket.ReadBacklogAsync();

        await silo.StopAsync();

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await socket.Closed.WaitAsync(TimeSpan.FromSeconds(15), Cancel));
    }

    private static async Task AssertDurableAsync(TestSiloSettings settings)
    {
        TestDevice bob;
        await using (var silo = await TestSilo.StartAsync(settings, Cancel))
        {
            var alice = await TestAccounts.RegisterAsync(silo);
            bob = await TestAccounts.RegisterAsync(silo);
            using var sender = alice.CreateClient(silo);
            for (var i = 0; i < 20; i++)
            {
                await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], $"m{i:D2}"), Cancel);
            }
        }

        await using var restarted = await TestSilo.StartAsync(settings with { }, Cancel);
        await using var socket = await TestSocket.ConnectAsync(restarted, bob, Cancel);
        var backlog = await socket.ReadBacklogAsync();

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i:D2}"), backlog.Select(e => Messages.ContentOf(e).Split(' ')[0]));
    }
}
