using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// <c>DELETE /v1/account?confirm=&lt;number&gt;</c> by the primary: sockets closed (4401), credentials gone (401), senders
/// get 404, group members hear <c>groupChanged</c>, no table of either engine keeps a row mentioning the account, and
/// the number can be registered again with a fresh code.
/// </summary>
public sealed class AccountDeletionTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Delete_Sqlite_NoRowLeftAndNumberFree()
    {
        await using var push = await WebPushService.StartAsync();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Settings = WebPushService.SiloSettings() }, Cancel);
        await AssertDeletionAsync(silo, push, StoredRows.Sqlite(silo));
    }

    [Fact]
    public async Task Delete_Postgres_NoRowLeftAndNumberFree()
    {
        Assert.SkipUnless(PostgresDatabase.IsConfigured, PostgresDatabase.SkipReason);
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await using var push = await WebPushService.StartAsync();
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"del-{Guid.NewGuid():N}", Settings = WebPushService.SiloSettings() }, Cancel);
        await AssertDeletionAsync(silo, push, StoredRows.Postgres(database.ConnectionString));
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

    [Fact]
    public async Task Delete_WhileContactsSend_NoRowLeftAndNo5xx()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await TestAccounts.AddCompanionAsync(silo, primary);
        var contacts = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => TestAccounts.RegisterAsync(silo)));
        using var primaryHttp = primary.CreateClient(silo);
        using var started = new SemaphoreSlim(0);
        var deleted = new TaskCompletionSource();

        // Each contact sends until it has been answered 404 (the account is gone) a few times.
        var senders = contacts.Select(contact => Task.Run(async () =>
        {
            using var http = contact.CreateClient(silo);
            var statuses = new List<HttpStatusCode>();
            var gone = 0;
            for (var i = 0; gone < 3; i++)
            {
                using var response = await Messages.SendAsync(http, primary.AccountId, Messages.Body([primary, companion], $"race {i}"), Cancel);
                statuses.Add(response.StatusCode);
                if (i == 2)
                {
                    started.Release();
                }

                gone += response.StatusCode == HttpStatusCode.NotFound && deleted.Task.IsCompleted ? 1 : 0;
            }

            return statuses;
        })).ToArray();

        for (var i = 0; i < contacts.Length; i++)
        {
            await started.WaitAsync(Cancel);
        }

        using var deletion = await primaryHttp.DeleteAsync($"/v1/account?confirm={Uri.EscapeDataString(primary.AccountId)}", Cancel);
        deleted.SetResult();
        var answered = (await Task.WhenAll(senders)).SelectMany(s => s).ToList();

        Assert.Equal(HttpStatusCode.NoContent, deletion.StatusCode);
        Assert.All(answered, status => Assert.True(status is HttpStatusCode.OK or HttpStatusCode.NotFound, $"a send answered {(int)status}"));
        Assert.Contains(HttpStatusCode.OK, answered);
        Assert.Empty(await StoredRows.Sqlite(silo).MentioningAsync([primary.AccountId], Cancel));
    }

    private static async Task AssertDeletionAsync(TestSilo silo, WebPushService push, StoredRows rows)
    {
        var primary = await TestAccounts.RegisterAsync(silo, oneTimeKeys: 3);
        var companion = await TestAccounts.AddCompanionAsync(silo, primary, oneTimeKeys: 3);
        var contact = await TestAccounts.RegisterAsync(silo);
        using var contactHttp = contact.CreateClient(silo);
        using var primaryHttp = primary.CreateClient(silo);
        using var companionHttp = companion.CreateClient(silo);

        // Something of every kind. Queued envelopes for both devices, with an idempotency receipt each way; the
        // contact's interest in the account and the account's in the contact (the contact drains what it was sent).
        await Messages.SendOkAsync(contactHttp, primary.AccountId, Messages.Body([primary, companion], "before", clientMessageId: "c-1"), Cancel);
        await Messages.SendOkAsync(primaryHttp, contact.AccountId, Messages.Body([contact], "hello", clientMessageId: "p-1"), Cancel);
        await Messages.SendOkAsync(primaryHttp, primary.AccountId, Messages.Body([companion], "sync", clientMessageId: "p-2"), Cancel);
        await DrainAsync(contactHttp);

        // App state, a blob, a group with the contact, a push subscription, and a verification code asked for the number.
        using var patch = await primaryHttp.PostAsJsonAsync("/v1/appstate/regular/patches", new JsonObject { ["version"] = 1, ["patch"] = Convert.ToBase64String([1, 2, 3]) }, Cancel);
        Assert.True(patch.IsSuccessStatusCode, await patch.Content.ReadAsStringAsync(Cancel));
        using var blob = await primaryHttp.PostAsync("/v1/blobs", new ByteArrayContent([4, 5, 6]), Cancel);
        Assert.Equal(HttpStatusCode.Created, blob.StatusCode);
        using var group = await primaryHttp.PostAsJsonAsync("/v1/groups", new JsonObject { ["members"] = new JsonArray(contact.AccountId) }, Cancel);
        Assert.Equal(HttpStatusCode.Created, group.StatusCode);
        var groupId = (string)(await group.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["groupId"]!;
        using var subscribed = await companionHttp.PutAsJsonAsync("/v1/push/subscription", push.Subscription(), Cancel);
        Assert.Equal(HttpStatusCode.NoContent, subscribed.StatusCode);
        await TestAccounts.VerificationCodeAsync(silo, primary.AccountId);
        Assert.NotEmpty(await rows.MentioningAsync([primary.AccountId], Cancel));

        await using var socket = await TestSocket.ConnectAsync(silo, companion, Cancel);
        await using var contactSocket = await TestSocket.ConnectAsync(silo, contact, Cancel);
        await contactSocket.ReadBacklogAsync();

        using var deleted = await primaryHttp.DeleteAsync($"/v1/account?confirm={Uri.EscapeDataString(primary.AccountId)}", Cancel);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal((WebSocketCloseStatus)4401, await socket.Closed.WaitAsync(TimeSpan.FromSeconds(15), Cancel));
        var changed = await NextGroupChangedAsync(contactSocket);
        Assert.Equal(groupId, (string?)changed["groupId"]);

        using var again = await primaryHttp.DeleteAsync($"/v1/account?confirm={Uri.EscapeDataString(primary.AccountId)}", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        using var send = await Messages.SendAsync(contactHttp, primary.AccountId, Messages.Body([primary], "after"), Cancel);
        Assert.Equal(HttpStatusCode.NotFound, send.StatusCode);
        using var lookup = await contactHttp.GetAsync($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
        var groupAfter = await contactHttp.GetFromJsonAsync<JsonObject>($"/v1/groups/{groupId}", Cancel);
        Assert.Equal([contact.AccountId], groupAfter!["members"]!.AsArray().Select(m => (string)m!));
        Assert.Equal([contact.AccountId], groupAfter["admins"]!.AsArray().Select(m => (string)m!));

        // The contact's own request runs on its account grain after the deletion's one-way "forget the account" to it.
        using var contactOwn = await contactHttp.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.OK, contactOwn.StatusCode);
        Assert.Empty(await rows.MentioningAsync([primary.AccountId], Cancel));

        // The number is free again, with a fresh code.
        var (_, body) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        using var http = silo.CreateHttpClient();
        using var registered = await TestAccounts.PostRegistrationAsync(silo, http, body);
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
    }

    private static async Task DrainAsync(HttpClient device)
    {
        var page = await device.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);
        foreach (var envelope in page!["envelopes"]!.AsArray())
        {
            using var ack = await device.DeleteAsync($"/v1/messages/{(string)envelope!["id"]!}", Cancel);
            Assert.Equal(HttpStatusCode.NoContent, ack.StatusCode);
        }
    }

    private static async Task<JsonObject> NextGroupChangedAsync(TestSocket socket)
    {
        while (true)
        {
            var frame = await socket.NextAsync("a groupChanged event");
            if (frame["event"] is JsonObject e && (string?)e["type"] == "groupChanged")
            {
                return e;
            }
        }
    }
}
