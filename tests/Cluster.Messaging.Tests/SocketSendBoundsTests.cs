using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans;

namespace Cluster.Messaging.Tests;

/// <summary>
/// Sends over the device socket against silos of their own: the answer only once the envelopes are durable (and still
/// there after a restart, where a retry is answered without a second copy), the per-socket bound on requests under way,
/// and clients that misbehave on purpose (unusable request frames, a flood of requests never read).
/// </summary>
public sealed class SocketSendBoundsTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RequestsPastTheInFlightBound_Answered429AtOnce_OthersAnsweredOnlyOnceDurable()
    {
        var gate = new EnqueueGate();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["Sockets:MaxInFlightRequests"] = "2" },
            Services = services => services.AddSingleton<IIncomingGrainCallFilter>(gate),
        }, Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, alice, Cancel);
        await socket.ReadBacklogAsync();

        await SocketSends.SendAsync(socket, "r1", bob.AccountId, Messages.Body([bob], "first"));
        await SocketSends.SendAsync(socket, "r2", bob.AccountId, Messages.Body([bob], "second"));
        await SocketSends.SendAsync(socket, "r3", bob.AccountId, Messages.Body([bob], "third"));

        // r1 and r2 wait in their enqueues, unanswered: the first answer is r3's refusal.
        var refused = await SocketSends.NextAnswerAsync(socket, "the refusal of r3");
        Assert.Equal("r3", (string?)refused["id"]);
        Assert.Equal(429, (int)refused["status"]!);
        Assert.Equal("rate_limited", (string?)refused["body"]!["error"]);
        Assert.Equal("socket_requests_in_flight", (string?)refused["body"]!["limit"]);
        Assert.True((int)refused["retryAfter"]! >= 1);
        Assert.False(socket.TryTake(out _), "r1 or r2 was answered before its envelope was stored");

        gate.Release();
        var answers = new[] { await SocketSends.NextAnswerAsync(socket, "r1's answer"), await SocketSends.NextAnswerAsync(socket, "r2's answer") };
        Assert.Equal(["r1", "r2"], answers.Select(a => (string)a["id"]!).Order());
        Assert.All(answers, a => Assert.Equal(200, (int)a["status"]!));
        var queued = await SocketSends.QueuedAsync(silo, bob, Cancel);
        Assert.Equal([Messages.Content("first", bob), Messages.Content("second", bob)], queued.Select(Messages.ContentOf).Order());
    }

    [Fact]
    public async Task SendsOverSocketAndHttp_OneSenderLimit_SameRefusalOnBoth()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Time = time,
            Settings = new Dictionary<string, string>
            {
                ["SenderLimits:MessagesPerDeviceBurst"] = "1",
                ["SenderLimits:MessagesPerDeviceRefillSeconds"] = "3600",
            },
        }, Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var http = alice.CreateClient(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, alice, Cancel);
        await socket.ReadBacklogAsync();

        var first = await SocketSends.AnswerAsync(socket, bob.AccountId, Messages.Body([bob], "first"));
        using var refusedOverHttp = await Messages.SendAsync(http, bob.AccountId, Messages.Body([bob], "second"), Cancel);
        var overHttp = ((int)refusedOverHttp.StatusCode, JsonNode.Parse(await refusedOverHttp.Content.ReadAsStringAsync(Cancel)));
        var overSocket = await SocketSends.AnswerAsync(socket, bob.AccountId, Messages.Body([bob], "third"));

        Assert.Equal(200, (int)first["status"]!);
        Assert.Equal(429, overHttp.Item1);
        Assert.Equal("messages_device", (string?)overHttp.Item2!["limit"]);
        SocketSends.SameAnswer(overHttp, overSocket, "the sender's limit, spent over the socket");
        Assert.Equal(refusedOverHttp.Headers.RetryAfter!.Delta!.Value.TotalSeconds, (int)overSocket["retryAfter"]!);
        Assert.Equal([Messages.Content("first", bob)], (await SocketSends.QueuedAsync(silo, bob, Cancel)).Select(Messages.ContentOf));
    }

    [Fact]
    public async Task SendOverSocket_AnsweredThenEmbeddedSiloRestarts_EnvelopeKeptAndRetryStoredOnce()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-socket-send-").FullName, "cluster.db");
        await AssertDurableAcrossRestartAsync(new TestSiloSettings { DataPath = dataPath });
    }

    [Fact]
    public async Task SendOverSocket_AnsweredThenPostgresSiloRestarts_EnvelopeKeptAndRetryStoredOnce()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await AssertDurableAcrossRestartAsync(new TestSiloSettings
        {
            PostgresConnectionString = database.ConnectionString, ClusterId = $"socket-send-{Guid.NewGuid():N}",
        });
    }

    [Fact]
    public async Task UnusableRequestFrames_AnsweredNamingTheProblem_SocketStaysOpenNoErrorLogged()
    {
        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = logs.AddTo }, Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, alice, Cancel);
        await socket.ReadBacklogAsync();
        var good = Messages.Body([bob], "after the garbage");
        var destination = JsonValue.Create(bob.AccountId).ToJsonString();
        var cases = new (string Frame, string Kind, string? Id, int? Status, string Error, string? Field)[]
        {
            ("{\"kind\":\"request\"}", "error", null, null, "missing_field", "id"),
            ("{\"kind\":\"request\",\"id\":7,\"type\":\"sendMessages\"}", "error", null, null, "invalid_field", "id"),
            ("{\"kind\":\"request\",\"id\":\"\",\"type\":\"sendMessages\"}", "error", null, null, "invalid_field", "id"),
            ($"{{\"kind\":\"request\",\"id\":\"{new string('i', 100_000)}\",\"type\":\"sendMessages\"}}", "error", null, null, "invalid_field", "id"),
            ("{\"kind\":\"request\",\"id\":\"caf\\u00e9\",\"type\":\"sendMessages\"}", "error", null, null, "invalid_field", "id"),
            ("{\"kind\":\"request\",\"id\":\"r1\"}", "response", "r1", 400, "missing_field", "type"),
            ("{\"kind\":\"request\",\"id\":\"r2\",\"type\":\"deleteEverything\"}", "response", "r2", 400, "invalid_field", "type"),
            ("{\"kind\":\"request\",\"id\":\"r3\",\"type\":\"sendMessages\"}", "response", "r3", 400, "missing_field", "accountId"),
            ("{\"kind\":\"request\",\"id\":\"r4\",\"type\":\"sendMessages\",\"accountId\":15551230000}", "response", "r4", 400, "invalid_field", "accountId"),
            ($"{{\"kind\":\"request\",\"id\":\"r5\",\"type\":\"sendMessages\",\"accountId\":{destination}}}", "response", "r5", 400, "invalid_json", null),
            ($"{{\"kind\":\"request\",\"id\":\"r6\",\"type\":\"sendMessages\",\"accountId\":{destination},\"body\":[1,2]}}", "response", "r6", 400, "invalid_json", null),
            ($"{{\"kind\":\"request\",\"id\":\"r7\",\"type\":\"sendMessages\",\"accountId\":{destination},\"body\":{{\"messages\":\"x\",\"timestamp\":1}}}}", "response", "r7", 400, "invalid_field", "messages"),
            ("{\"kind\":\"request\",\"id\":\"r8\",\"type\":\"sendMessages\",\"ids\":{}}", "response", "r8", 400, "invalid_field", "ids"),
        };

        foreach (var (frame, kind, id, status, error, field) in cases)
        {
            await socket.SendRawAsync(frame);
            var answer = await SocketSends.NextAnswerAsync(socket, $"the answer to {frame[..Math.Min(frame.Length, 80)]}");
            var what = $"{frame[..Math.Min(frame.Length, 80)]} answered {answer.ToJsonString()[..Math.Min(answer.ToJsonString().Length, 300)]}";
            Assert.True((string?)answer["kind"] == kind, what);
            var problem = kind == "error" ? answer : answer["body"]!.AsObject();
            Assert.True((string?)answer["id"] == id && (int?)answer["status"] == status, what);
            Assert.True((string?)problem["error"] == error && (string?)problem["field"] == field, what);
            Assert.False(string.IsNullOrEmpty((string?)problem["message"]), what);
        }

        var sent = await SocketSends.AnswerAsync(socket, bob.AccountId, good);
        Assert.Equal(200, (int)sent["status"]!);
        Assert.Equal([Messages.Content("after the garbage", bob)], (await SocketSends.QueuedAsync(silo, bob, Cancel)).Select(Messages.ContentOf));
        Assert.Empty(logs.Errors);
    }

    [Fact]
    public async Task FloodOfRequestsNeverRead_SocketDroppedOthersServedNothingLoggedAsError()
    {
        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Services = logs.AddTo,
            Settings = new Dictionary<string, string>
            {
                ["Sockets:CloseTimeout"] = "00:00:01",
                ["Messages:MaxUnacked"] = "16",
                ["Sockets:MaxOutboundFrames"] = "32",
            },
        }, Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var flooder = await RawWebSocket.ConnectAsync(silo, alice, receiveBufferBytes: 4096, Cancel);

        // Each request names a device Bob does not have, so each is answered (409, the device lists) without a durable
        // write: the flood is bounded by how fast the silo answers, not by the disk, and fills the socket's buffer (32
        // frames here) and the connection's within seconds even on a loaded machine. Never a read: the silo must give
        // up on the socket rather than hold the answers.
        var stale = Messages.Body([bob], "flood");
        ((JsonArray)stale["messages"]!).Add(new JsonObject { ["deviceId"] = 5, ["registrationId"] = 1, ["type"] = 1, ["content"] = "AA==" });
        var frame = SocketSends.Request("r", bob.AccountId, stale);
        var flood = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 20_000; i++)
                {
                    await flooder.SendTextAsync(frame);
                }
            }
            catch (IOException)
            {
                // Dropped by the silo mid-flood.
            }
        }, Cancel);
        await flooder.DroppedAsync("after its answers filled the buffer", TimeSpan.FromSeconds(60));
        await flood;

        // A fresh receiver shows the sender is served as before.
        var carol = await TestAccounts.RegisterAsync(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, alice, Cancel);
        await socket.ReadBacklogAsync();
        var body = Messages.Body([carol], "after the flood");
        Assert.Equal(200, (int)(await SocketSends.AnswerAsync(socket, carol.AccountId, body))["status"]!);
        Assert.Equal([Messages.Content("after the flood", carol)], (await ReadAllAsync(silo, carol)).Select(Messages.ContentOf));
        Assert.Empty(logs.Errors);
    }

    private static async Task<List<JsonObject>> ReadAllAsync(TestSilo silo, TestDevice device)
    {
        await using var socket = await TestSocket.ConnectAsync(silo, device, Cancel);
        return await socket.ReadBacklogAsync();
    }

    private static async Task AssertDurableAcrossRestartAsync(TestSiloSettings settings)
    {
        TestDevice alice;
        TestDevice bob;
        JsonObject body;
        JsonObject first;
        await using (var silo = await TestSilo.StartAsync(settings, Cancel))
        {
            alice = await TestAccounts.RegisterAsync(silo);
            bob = await TestAccounts.RegisterAsync(silo);
            body = Messages.Body([bob], "durable", clientMessageId: Guid.NewGuid().ToString());
            await using var socket = await TestSocket.ConnectAsync(silo, alice, Cancel);
            await socket.ReadBacklogAsync();
            first = await SocketSends.AnswerAsync(socket, bob.AccountId, body);
            Assert.Equal(200, (int)first["status"]!);
        }

        await using var restarted = await TestSilo.StartAsync(settings with { }, Cancel);
        await using var again = await TestSocket.ConnectAsync(restarted, alice, Cancel);
        await again.ReadBacklogAsync();
        var retried = await SocketSends.AnswerAsync(again, bob.AccountId, body);
        await SocketSends.AnswerAsync(again, bob.AccountId, Messages.Body([bob], "after"));

        Assert.True(JsonNode.DeepEquals(first["body"], retried["body"]) && (int)retried["status"]! == 200, $"the retry after the restart answered {retried.ToJsonString()}");
        var backlog = await ReadAllAsync(restarted, bob);
        Assert.Equal([Messages.Content("durable", bob), Messages.Content("after", bob)], backlog.Select(Messages.ContentOf));
    }
}
