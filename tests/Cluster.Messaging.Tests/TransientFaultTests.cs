using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Npgsql;

namespace Cluster.Messaging.Tests;

public sealed class TransientFaultTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Send_InboxTableUnreachable_Answers503ThenTheRetryIsStoredOnce()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var silo = await StartSiloAsync(database);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);

        await ExecuteAsync(database, "ALTER TABLE inbox RENAME TO inbox_away");
        using (var refused = await Messages.SendAsync(sender, bob.AccountId, Messages.Body([bob], "hello", clientMessageId: "c1"), Cancel))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("unavailable", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync(Cancel))!["error"]);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        }

        await ExecuteAsync(database, "ALTER TABLE inbox_away RENAME TO inbox");
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "hello", clientMessageId: "c1"), Cancel);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "hello", clientMessageId: "c1"), Cancel);

        await using var socket = await TestSocket.ConnectAsync(silo, bob, Cancel);
        var envelope = Assert.Single(await socket.ReadBacklogAsync());
        Assert.Equal($"hello for {bob.Login}", Messages.ContentOf(envelope));
    }

    [Fact]
    public async Task Ack_InboxTableUnreachable_SameSocketGetsTheEnvelopeAgainOnceTheTableIsBack()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var silo = await StartSiloAsync(database);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, bob, Cancel);
        Assert.Empty(await socket.ReadBacklogAsync());
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "hello"), Cancel);
        var first = await socket.NextEnvelopeAsync();

        // The ack cannot delete the row: the socket stays open and attaches again, which sends the envelope again once
        // the table can be read (the attach is retried meanwhile).
        await ExecuteAsync(database, "ALTER TABLE inbox RENAME TO inbox_away");
        await socket.AckAsync([first]);
        await Task.Delay(TimeSpan.FromMilliseconds(300), Cancel);
        await ExecuteAsync(database, "ALTER TABLE inbox_away RENAME TO inbox");
        var again = await socket.NextEnvelopeAsync(TimeSpan.FromSeconds(30));
        await socket.AckAsync([again]);

        Assert.Equal((string?)first["id"], (string?)again["id"]);
        Assert.Equal("queueEmpty", (string?)(await socket.NextAsync("queueEmpty after the envelope sent again"))["kind"]);
        Assert.False(socket.Closed.IsCompleted, "the socket stayed open");
        using var fetch = bob.CreateClient(silo);
        await Eventually.TrueAsync(
            async () => (await fetch.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel))!["envelopes"]!.AsArray().Count == 0,
            TimeSpan.FromSeconds(15),
            () => "the second ack deleted the envelope");
    }

    /// <summary>A silo of its own on <paramref name="database"/>, migrated: the tests rename its tables away and back.</summary>
    private static async Task<TestSilo> StartSiloAsync(PostgresDatabase database)
    {
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        return await TestSilo.StartAsync(
            new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"faults-{Guid.NewGuid():N}" }, Cancel);
    }

    private static async Task ExecuteAsync(PostgresDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync(Cancel);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Cancel);
    }
}
