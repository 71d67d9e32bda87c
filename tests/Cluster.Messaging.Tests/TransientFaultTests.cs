using System.Net;
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
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"faults-{Guid.NewGuid():N}" }, Cancel);
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

    private static async Task ExecuteAsync(PostgresDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync(Cancel);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Cancel);
    }
}
