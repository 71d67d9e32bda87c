using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// <c>DELETE /v1/account?confirm=&lt;number&gt;</c> by the primary: sockets closed (4401), senders get 404, no table of
/// either engine keeps a row mentioning the account, and the number can be registered again.
/// </summary>
public sealed class AccountDeletionTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Delete_Sqlite_NoRowLeftAndNumberFree()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        await AssertDeletionAsync(silo, () => new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={silo.DataPath}"),
            "SELECT name FROM sqlite_master WHERE type = 'table'");
    }

    [Fact]
    public async Task Delete_Postgres_NoRowLeftAndNumberFree()
    {
        Assert.SkipUnless(PostgresDatabase.IsConfigured, PostgresDatabase.SkipReason);
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"del-{Guid.NewGuid():N}" }, Cancel);
        await AssertDeletionAsync(silo, () => new Npgsql.NpgsqlConnection(database.ConnectionString),
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
    }

    [Fact]
    public async Task Delete_ByCompanionOrWithoutConfirmation_RefusedAndNothingDeleted()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await TestAccounts.AddCompanionAsync(silo, primary);
        using var companionHttp = companion.CreateClient(silo);
        using var primaryHttp = primary.CreateClient(silo);
        var confirm = Uri.EscapeDataString(primary.AccountId);

        using var byCompanion = await companionHttp.DeleteAsync($"/v1/account?confirm={confirm}", Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, byCompanion.StatusCode);
        using var noConfirm = await primaryHttp.DeleteAsync("/v1/account", Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, noConfirm.StatusCode);
        using var wrongConfirm = await primaryHttp.DeleteAsync("/v1/account?confirm=%2B15550000000", Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, wrongConfirm.StatusCode);

        var own = await primaryHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);
        Assert.Equal(2, own!["devices"]!.AsArray().Count);
    }

    private static async Task AssertDeletionAsync(TestSilo silo, Func<DbConnection> connect, string listTables)
    {
        var primary = await TestAccounts.RegisterAsync(silo, oneTimeKeys: 3);
        var companion = await TestAccounts.AddCompanionAsync(silo, primary, oneTimeKeys: 3);
        var contact = await TestAccounts.RegisterAsync(silo);
        using var contactHttp = contact.CreateClient(silo);
        using var primaryHttp = primary.CreateClient(silo);

        // Something of every kind: queued envelopes for both devices, the contact's interest, an app state patch.
        await Messages.SendOkAsync(contactHttp, primary.AccountId, Messages.Body([primary, companion], "before"), Cancel);
        using var patch = await primaryHttp.PostAsJsonAsync("/v1/appstate/regular/patches", new JsonObject { ["version"] = 1, ["patch"] = Convert.ToBase64String([1, 2, 3]) }, Cancel);
        Assert.True(patch.IsSuccessStatusCode, await patch.Content.ReadAsStringAsync(Cancel));
        await using var socket = await TestSocket.ConnectAsync(silo, companion, Cancel);

        using var deleted = await primaryHttp.DeleteAsync($"/v1/account?confirm={Uri.EscapeDataString(primary.AccountId)}", Cancel);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal((WebSocketCloseStatus)4401, await socket.Closed.WaitAsync(TimeSpan.FromSeconds(15), Cancel));

        using var again = await primaryHttp.DeleteAsync($"/v1/account?confirm={Uri.EscapeDataString(primary.AccountId)}", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        using var send = await Messages.SendAsync(contactHttp, primary.AccountId, Messages.Body([primary], "after"), Cancel);
        Assert.Equal(HttpStatusCode.NotFound, send.StatusCode);
        using var lookup = await contactHttp.GetAsync($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);

        // Every table of the engine, found from its catalogue, so that a table added later is checked as well.
        await using var connection = connect();
        await connection.OpenAsync(Cancel);
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = listTables;
            await using var reader = await list.ExecuteReaderAsync(Cancel);
            while (await reader.ReadAsync(Cancel))
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.NotEmpty(tables);
        var needle = primary.AccountId;
        var needleBytes = Encoding.UTF8.GetBytes(needle);
        var found = new List<string>();
        foreach (var table in tables)
        {
            await using var select = connection.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            await using var reader = await select.ExecuteReaderAsync(Cancel);
            while (await reader.ReadAsync(Cancel))
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var value = reader.IsDBNull(i) ? null : reader.GetValue(i);
                    var mentions = value switch
                    {
                        string s => s.Contains(needle, StringComparison.Ordinal),
                        byte[] b => b.AsSpan().IndexOf(needleBytes) >= 0,
                        _ => false,
                    };
                    if (mentions)
                    {
                        found.Add($"{table}.{reader.GetName(i)}");
                    }
                }
            }
        }

        Assert.Empty(found);

        // The number is free again.
        var (_, body) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        using var http = silo.CreateHttpClient();
        using var registered = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
    }
}
