using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Abstractions;
using Cluster.Abstractions.Messaging;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Messaging.Tests;

/// <summary>
/// A retried send (same sending device, destination and clientMessageId) within the window is answered 200 and stores
/// nothing, even once its first copy has been acked, whatever the silo went through in between.
/// </summary>
public sealed class IdempotencyTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Retry_AfterEmbeddedRestart_AnsweredAndNotDeliveredAgain()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-idempotency-").FullName, "cluster.db");
        await AssertRetryAfterRestartAsync(new TestSiloSettings { DataPath = dataPath });
    }

    [Fact]
    public async Task Retry_AfterPostgresRestart_AnsweredAndNotDeliveredAgain()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await AssertRetryAfterRestartAsync(new TestSiloSettings
        {
            PostgresConnectionString = database.ConnectionString, ClusterId = $"idempotency-{Guid.NewGuid():N}",
        });
    }

    [Fact]
    public async Task Retry_After10000OtherKeys_DeliveredOnce()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        using var receiver = bob.CreateClient(silo);
        var first = Messages.Body([bob], "first", clientMessageId: "key-0");
        await Messages.SendOkAsync(sender, bob.AccountId, first, Cancel);
        await AckAllAsync(receiver, expected: ["first"]);

        // 10,000 more keys of the same sender (ephemeral sends, so that only the keys pile up), straight to its outbox.
        var outbox = silo.Grains.GetGrain<IOutboxGrain>(alice.Login);
        var copy = new OutgoingMessage(bob.DeviceId, bob.RegistrationId, 1, [1]);
        await Parallel.ForEachAsync(Enumerable.Range(1, 10_000), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Cancel }, async (i, _) =>
        {
            var result = await outbox.SendAsync(new SendRequest
            {
                Sender = new DeviceAddress(alice.AccountId, alice.DeviceId),
                SenderDeviceCount = 1,
                Destination = bob.AccountId,
                Messages = [copy],
                Timestamp = 1_700_000_000_000,
                Online = true,
                ClientMessageId = $"key-{i}",
            });
            Assert.Equal(SendStatus.Sent, result.Status);
        });

        await Messages.SendOkAsync(sender, bob.AccountId, first, Cancel);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "after"), Cancel);

        await AckAllAsync(receiver, expected: ["after"]);
    }

    [Fact]
    public async Task Retry_AfterTheWindow_IsANewSend()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        using var receiver = bob.CreateClient(silo);
        var body = Messages.Body([bob], "m", clientMessageId: Guid.NewGuid().ToString());
        await Messages.SendOkAsync(sender, bob.AccountId, body, Cancel);
        await AckAllAsync(receiver, expected: ["m"]);

        time.Advance(TimeSpan.FromHours(23));
        await Messages.SendOkAsync(sender, bob.AccountId, body, Cancel);
        await AckAllAsync(receiver, expected: []);

        time.Advance(TimeSpan.FromHours(2));
        await Messages.SendOkAsync(sender, bob.AccountId, body, Cancel);
        await AckAllAsync(receiver, expected: ["m"]);
    }

    private static async Task AssertRetryAfterRestartAsync(TestSiloSettings settings)
    {
        TestDevice alice;
        TestDevice bob;
        var body = Messages.Body([], "unused");
        await using (var silo = await TestSilo.StartAsync(settings, Cancel))
        {
            alice = await TestAccounts.RegisterAsync(silo);
            bob = await TestAccounts.RegisterAsync(silo);
            body = Messages.Body([bob], "once", clientMessageId: Guid.NewGuid().ToString());
            using var sender = alice.CreateClient(silo);
            await Messages.SendOkAsync(sender, bob.AccountId, body, Cancel);
            await using var socket = await TestSocket.ConnectAsync(silo, bob, Cancel);
            var backlog = await socket.ReadBacklogAsync();
            Assert.Equal(["once"], backlog.Select(e => Messages.ContentOf(e).Split(' ')[0]));
            using var receiver = bob.CreateClient(silo);
            using var ack = await receiver.DeleteAsync($"/v1/messages/{(string)backlog[0]["id"]!}", Cancel);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, ack.StatusCode);
        }

        await using var restarted = await TestSilo.StartAsync(settings with { }, Cancel);
        using var retrying = alice.CreateClient(restarted);
        var answer = await Messages.SendOkAsync(retrying, bob.AccountId, body, Cancel);
        await Messages.SendOkAsync(retrying, bob.AccountId, Messages.Body([bob], "after"), Cancel);

        Assert.False((bool)answer["needsSync"]!);
        await using var reconnected = await TestSocket.ConnectAsync(restarted, bob, Cancel);
        Assert.Equal(["after"], (await reconnected.ReadBacklogAsync()).Select(e => Messages.ContentOf(e).Split(' ')[0]));
    }

    /// <summary>Fetches the receiver's queue over HTTP, checks what it holds, and acks all of it.</summary>
    [Fact]
    public async Task Send_CompanionLinkedUnderRemovedDevicesId_SameKeyIsANewSend()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var receiver = bob.CreateClient(silo);
        var removed = await Linking.LinkAsync(silo, alice, keyIndex: 1);
        using (var first = removed.CreateClient(silo))
        {
            await Messages.SendOkAsync(first, bob.AccountId, Messages.Body([bob], "old", clientMessageId: "key-1"), Cancel);
        }

        await AckAllAsync(receiver, expected: ["old"]);
        using (var primary = alice.CreateClient(silo))
        using (var removal = await primary.DeleteAsync($"/v1/devices/{removed.DeviceId}", Cancel))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, removal.StatusCode);
        }

        // The next companion gets the removed one's id; its keys are its own, however it numbers them.
        var relinked = await Linking.LinkAsync(silo, alice, keyIndex: 2);
        Assert.Equal(removed.DeviceId, relinked.DeviceId);
        using var second = relinked.CreateClient(silo);
        await Messages.SendOkAsync(second, bob.AccountId, Messages.Body([bob], "new", clientMessageId: "key-1"), Cancel);
        await Messages.SendOkAsync(second, bob.AccountId, Messages.Body([bob], "new", clientMessageId: "key-1"), Cancel);

        await AckAllAsync(receiver, expected: ["new"]);
    }

    private static async Task AckAllAsync(HttpClient receiver, string[] expected)
    {
        var page = await receiver.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);
        var envelopes = page!["envelopes"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal(expected, envelopes.Select(e => Messages.ContentOf(e).Split(' ')[0]));
        foreach (var envelope in envelopes)
        {
            using var ack = await receiver.DeleteAsync($"/v1/messages/{(string)envelope["id"]!}", Cancel);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, ack.StatusCode);
        }
    }
}
