using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using static Cluster.Groups.Tests.GroupSends;

namespace Cluster.Groups.Tests;

/// <summary>
/// <c>sendGroupMessage</c> over the device socket answers exactly what <c>PUT /v1/groups/{groupId}/messages</c> answers
/// (status, body, Retry-After), shares its idempotency and its rate limit with HTTP, and is durable before its answer.
/// </summary>
public sealed class SocketGroupSendTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private const string Type = "sendGroupMessage";

    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendGroupMessageOverSocket_EachCase_SameAnswerAsHttp()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 2, 1);
        var sender = devices[0];
        var outsider = await TestAccounts.RegisterAsync(Silo);
        using var http = sender.CreateClient(Silo);
        using var outsiderHttp = outsider.CreateClient(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, sender, Cancel);
        await socket.ReadBacklogAsync();
        await using var outsiderSocket = await TestSocket.ConnectAsync(Silo, outsider, Cancel);
        await outsiderSocket.ReadBacklogAsync();

        var wrongType = Body(View(sender, devices));
        wrongType["timestamp"] = "yesterday";
        var noContent = Body(View(sender, devices));
        noContent.Remove("content");
        var noRecipients = Body(View(sender, devices));
        noRecipients.Remove("recipients");
        var tooLarge = Body(View(sender, devices));
        tooLarge["content"] = Convert.ToBase64String(new byte[(96 * 1024) + 1]);
        var badAccount = Body(View(sender, devices));
        badAccount["recipients"]![0]!["accountId"] = "alice";
        var cases = new (string What, bool Outsider, string GroupId, JsonNode Body, int Status)[]
        {
            ("a view of every member device", false, groupId, Body(View(sender, devices)), 200),
            ("a device left out", false, groupId, Body(View(sender, devices[..^1])), 409),
            ("a registration id not current", false, groupId, Body(View(sender, devices, d => d.RegistrationId + 1)), 410),
            ("a sender that is not a member", true, groupId, Body(View(outsider, devices)), 403),
            ("a group that does not exist", false, Guid.NewGuid().ToString("N"), Body(View(sender, devices)), 404),
            ("a group id that is not one", false, "not-a-group", Body(View(sender, devices)), 400),
            ("a member of the wrong type", false, groupId, wrongType, 400),
            ("no content", false, groupId, noContent, 400),
            ("no recipients", false, groupId, noRecipients, 400),
            ("an account id that is not a number", false, groupId, badAccount, 400),
            ("a clientMessageId of 129 characters", false, groupId, Body(View(sender, devices), clientMessageId: new string('k', 129)), 400),
            ("a body that is not an object", false, groupId, JsonValue.Create(7)!, 400),
            ("content over 96 KiB", false, groupId, tooLarge, 413),
        };

        foreach (var (what, byOutsider, group, body, status) in cases)
        {
            var overHttp = await SocketRequestFrames.HttpAsync(byOutsider ? outsiderHttp : http, HttpMethod.Put, $"/v1/groups/{group}/messages", body, Cancel);
            var overSocket = await SocketRequestFrames.AnswerAsync(byOutsider ? outsiderSocket : socket, Type, new JsonObject { ["groupId"] = group }, body);
            Assert.True(status == overHttp.Status, $"{what}: HTTP answered {overHttp.Status} {overHttp.Body?.ToJsonString()}");
            SocketRequestFrames.SameAnswer(overHttp, overSocket, what);
        }

        // Only the two 200s stored anything: each member device holds exactly two copies.
        Assert.All(await Task.WhenAll(devices.Skip(1).Select(d => QueuedAsync(Silo, d))), q => Assert.Equal(2, q.Length));
    }

    [Fact]
    public async Task SendGroupMessageOverSocket_NoGroupIdOrNoBody_400NamingIt()
    {
        var (groupId, devices) = await GroupAsync(Silo, 1, 1);
        await using var socket = await TestSocket.ConnectAsync(Silo, devices[0], Cancel);
        await socket.ReadBacklogAsync();

        var noGroup = await SocketRequestFrames.AnswerAsync(socket, Type, null, Body(View(devices[0], devices)));
        var noBody = await SocketRequestFrames.AnswerAsync(socket, Type, new JsonObject { ["groupId"] = groupId }, null);
        var groupNotString = await SocketRequestFrames.AnswerAsync(socket, Type, new JsonObject { ["groupId"] = 12 }, Body(View(devices[0], devices)));

        Assert.Equal((400, "missing_field", "groupId"), (Status(noGroup), Error(noGroup), (string?)noGroup["body"]!["field"]));
        Assert.Equal((400, "invalid_json"), (Status(noBody), Error(noBody)));
        Assert.Equal(400, Status(groupNotString));
        Assert.Empty(await QueuedAsync(Silo, devices[1]));
    }

    [Fact]
    public async Task SendGroupMessage_SameClientMessageIdOverHttpThenSocket_StoredOnce()
    {
        var (groupId, devices) = await GroupAsync(Silo, 2, 1);
        var sender = devices[0];
        using var http = sender.CreateClient(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, sender, Cancel);
        await socket.ReadBacklogAsync();
        var body = Body(View(sender, devices), "once", clientMessageId: "group-once");

        var overHttp = await SocketRequestFrames.HttpAsync(http, HttpMethod.Put, $"/v1/groups/{groupId}/messages", body, Cancel);
        var overSocket = await SocketRequestFrames.AnswerAsync(socket, Type, new JsonObject { ["groupId"] = groupId }, body);
        var again = await SocketRequestFrames.AnswerAsync(socket, Type, new JsonObject { ["groupId"] = groupId }, Body(View(sender, devices), "twice", clientMessageId: "group-twice"));
        var retryOverHttp = await SocketRequestFrames.HttpAsync(http, HttpMethod.Put, $"/v1/groups/{groupId}/messages", Body(View(sender, devices), "twice", clientMessageId: "group-twice"), Cancel);

        Assert.Equal(200, overHttp.Status);
        SocketRequestFrames.SameAnswer(overHttp, overSocket, "a retry over the socket of a send made over HTTP");
        SocketRequestFrames.SameAnswer(retryOverHttp, again, "a retry over HTTP of a send made over the socket");
        Assert.All(await Task.WhenAll(devices.Skip(1).Select(d => QueuedAsync(Silo, d))), q => Assert.Equal(["once", "twice"], q.Select(Messages.ContentOf)));
    }

    [Fact]
    public async Task SendGroupMessage_AlternatingHttpAndSocket_OneLimitForBoth()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null, ("GroupLimits:SendsPerDeviceBurst", "2"), ("GroupLimits:SendsPerDeviceRefillSeconds", "60")), Cancel);
        var (groupId, devices) = await GroupAsync(silo, 1, 1);
        var sender = devices[0];
        using var http = sender.CreateClient(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, sender, Cancel);
        await socket.ReadBacklogAsync();
        var path = $"/v1/groups/{groupId}/messages";
        var parameters = new JsonObject { ["groupId"] = groupId };

        var first = await SocketRequestFrames.HttpAsync(http, HttpMethod.Put, path, Body(View(sender, devices)), Cancel);
        var second = await SocketRequestFrames.AnswerAsync(socket, Type, parameters, Body(View(sender, devices)));
        var overSocket = await SocketRequestFrames.AnswerAsync(socket, Type, parameters, Body(View(sender, devices)));
        var overHttp = await SocketRequestFrames.HttpAsync(http, HttpMethod.Put, path, Body(View(sender, devices)), Cancel);

        Assert.Equal((200, 200), (first.Status, Status(second)));
        Assert.Equal((429, "group_sends_device", 60), (overHttp.Status, (string?)overHttp.Body!["limit"], overHttp.RetryAfterSeconds));
        SocketRequestFrames.SameAnswer(overHttp, overSocket, "the third group send, over the socket");
        Assert.Equal(2, (await QueuedAsync(silo, devices[1])).Length);
    }

    [Fact]
    public async Task RequestsOfEveryTypePastTheInFlightBound_429AtOnce_HeldGroupSendAnsweredOnlyOnceDurable()
    {
        var gate = new EnqueueGate();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["Sockets:MaxInFlightRequests"] = "2" },
            Services = services => services.AddSingleton<IIncomingGrainCallFilter>(gate),
        }, Cancel);
        var (groupId, devices) = await GroupAsync(silo, 1, 1);
        var sender = devices[0];
        await using var socket = await TestSocket.ConnectAsync(silo, sender, Cancel);
        await socket.ReadBacklogAsync();

        await socket.SendRawAsync(SocketRequestFrames.Request("g1", Type, new JsonObject { ["groupId"] = groupId }, Body(View(sender, devices), "held")));
        await socket.SendRawAsync(SocketRequestFrames.Request("g2", Type, new JsonObject { ["groupId"] = groupId }, Body(View(sender, devices), "held too")));
        await gate.Reached.WaitAsync(TimeSpan.FromSeconds(20), Cancel);
        var refusals = new List<JsonObject>();
        foreach (var (type, parameters) in new (string, JsonObject?)[]
        {
            ("startCall", null), ("answerCall", new() { ["callId"] = Guid.NewGuid().ToString("N") }), ("rejectCall", new() { ["callId"] = "x" }),
            ("hangupCall", null), ("relayIce", null), ("sendMessages", new() { ["accountId"] = devices[1].AccountId }), (Type, new() { ["groupId"] = groupId }),
        })
        {
            refusals.Add(await SocketRequestFrames.AnswerAsync(socket, type, parameters, new JsonObject()));
        }

        Assert.All(refusals, r => Assert.Equal((429, "socket_requests_in_flight", 1), ((int)r["status"]!, (string?)r["body"]!["limit"], (int?)r["retryAfter"])));
        Assert.False(socket.TryTake(out _), "a held group send was answered before its copies were stored");
        gate.Release();
        var answers = new[] { await socket.NextAsync("g1 or g2's answer"), await socket.NextAsync("g1 or g2's answer") };
        Assert.Equal(["g1", "g2"], answers.Select(a => (string)a["id"]!).Order());
        Assert.All(answers, a => Assert.Equal(200, (int)a["status"]!));
        Assert.Equal(2, (await QueuedAsync(silo, devices[1])).Length);
    }

    [Fact]
    public async Task Restart_Embedded_SocketGroupSendDurableBeforeItsAnswer()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-socket-group-").FullName, "cluster.db");
        await AssertDurableAsync(new TestSiloSettings { DataPath = dataPath });
    }

    [Fact]
    public async Task Restart_Postgres_SocketGroupSendDurableBeforeItsAnswer()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await AssertDurableAsync(new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"socket-group-{Guid.NewGuid():N}" });
    }

    private static int Status(JsonObject response) => (int)response["status"]!;

    private static string? Error(JsonObject response) => (string?)response["body"]?["error"];

    /// <summary>A group send over the socket, answered 200, then the silo stops at once: after the restart every copy is there, and a retry stores nothing.</summary>
    private static async Task AssertDurableAsync(TestSiloSettings settings)
    {
        string groupId;
        TestDevice[] devices;
        await using (var silo = await TestSilo.StartAsync(settings, Cancel))
        {
            (groupId, devices) = await GroupAsync(silo, 1, 2);
            await using var socket = await TestSocket.ConnectAsync(silo, devices[0], Cancel);
            await socket.ReadBacklogAsync();
            var answer = await SocketRequestFrames.AnswerAsync(socket, Type, new JsonObject { ["groupId"] = groupId }, Body(View(devices[0], devices), "durable", clientMessageId: "socket-durable"));
            Assert.Equal(200, Status(answer));
        }

        await using var restarted = await TestSilo.StartAsync(settings with { }, Cancel);
        await using (var socket = await TestSocket.ConnectAsync(restarted, devices[0], Cancel))
        {
            await socket.ReadBacklogAsync();
            var retry = await SocketRequestFrames.AnswerAsync(socket, Type, new JsonObject { ["groupId"] = groupId }, Body(View(devices[0], devices), "durable", clientMessageId: "socket-durable"));
            Assert.Equal(200, Status(retry));
        }

        Assert.All(await Task.WhenAll(devices.Skip(1).Select(d => QueuedAsync(restarted, d))), q => Assert.Equal(["durable"], q.Select(Messages.ContentOf)));
    }
}
