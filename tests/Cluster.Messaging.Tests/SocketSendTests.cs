using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Messaging.Tests;

/// <summary>
/// A send over the device socket answers exactly what <c>PUT /v1/messages</c> answers (status and body, 409/410
/// included), shares its idempotency with HTTP, and refuses unusable request frames with a frame naming the problem.
/// </summary>
[Collection(SharedSilo.Name)]
public sealed class SocketSendTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendOverSocket_CoveringEveryDevice_AnsweredLikeHttpAndDelivered()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        await TestAccounts.AddCompanionAsync(Silo, alice);
        var bob = await TestAccounts.RegisterAsync(Silo);
        using var http = alice.CreateClient(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, alice, Cancel);
        await socket.ReadBacklogAsync();
        await using var receiver = await TestSocket.ConnectAsync(Silo, bob, Cancel);
        await receiver.ReadBacklogAsync();

        var overHttp = await SocketSends.HttpAnswerAsync(http, bob.AccountId, Messages.Body([bob], "over HTTP"), Cancel);
        var overSocket = await SocketSends.AnswerAsync(socket, bob.AccountId, Messages.Body([bob], "over the socket"));

        SocketSends.SameAnswer(overHttp, overSocket, "a send that covers the destination");
        Assert.Equal(200, (int)overSocket["status"]!);
        Assert.True((bool)overSocket["body"]!["needsSync"]!);
        Assert.Equal(Messages.Content("over HTTP", bob), Messages.ContentOf(await receiver.NextEnvelopeAsync()));
        var envelope = await receiver.NextEnvelopeAsync();
        Assert.Equal(Messages.Content("over the socket", bob), Messages.ContentOf(envelope));
        Assert.Equal(alice.AccountId, (string?)envelope["sourceAccount"]);
        Assert.Equal(alice.DeviceId, (int)envelope["sourceDevice"]!);
    }

    [Fact]
    public async Task SendOverSocket_Refused_SameStatusAndBodyAsHttpAndNothingStored()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        var bob2 = await TestAccounts.AddCompanionAsync(Silo, bob);
        var nobody = TestAccounts.NewAccountId();
        using var http = alice.CreateClient(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, alice, Cancel);
        await socket.ReadBacklogAsync();

        var stale = Messages.Body([bob, bob2], "stale");
        stale["messages"]![1]!["registrationId"] = bob2.RegistrationId + 1;
        var wrongType = Messages.Body([bob, bob2], "wrong type");
        wrongType["timestamp"] = "yesterday";
        var noTimestamp = Messages.Body([bob, bob2], "no timestamp");
        noTimestamp.Remove("timestamp");
        var tooLarge = Messages.Body([bob, bob2], "too large");
        tooLarge["messages"]![0]!["content"] = Convert.ToBase64String(new byte[(96 * 1024) + 1]);
        var cases = new (string What, string Destination, JsonObject Body, int Status)[]
        {
            ("a device left out", bob.AccountId, Messages.Body([bob], "missing"), 409),
            ("a device that is not there", bob.AccountId, Messages.Body([bob, bob2, alice with { DeviceId = 7 }], "extra"), 409),
            ("a registration id not current", bob.AccountId, stale, 410),
            ("an unknown account", nobody, Messages.Body([bob], "nobody"), 404),
            ("a destination that is not a number", "bob", Messages.Body([bob, bob2], "bad destination"), 400),
            ("a member of the wrong type", bob.AccountId, wrongType, 400),
            ("no timestamp", bob.AccountId, noTimestamp, 400),
            ("type 0", bob.AccountId, Messages.Body([bob, bob2], "type 0", type: 0), 400),
            ("a clientMessageId of 129 characters", bob.AccountId, Messages.Body([bob, bob2], "long id", clientMessageId: new string('k', 129)), 400),
            ("a copy over 96 KiB", bob.AccountId, tooLarge, 413),
        };

        foreach (var (what, destination, body, status) in cases)
        {
            var overHttp = await SocketSends.HttpAnswerAsync(http, destination, body, Cancel);
            var overSocket = await SocketSends.AnswerAsync(socket, destination, body);
            Assert.Equal(status, overHttp.Status);
            SocketSends.SameAnswer(overHttp, overSocket, what);
        }

        Assert.Empty(await SocketSends.QueuedAsync(Silo, bob, Cancel));
        Assert.Empty(await SocketSends.QueuedAsync(Silo, bob2, Cancel));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SameClientMessageId_OverSocketAndOverHttp_StoredOnceAnsweredAlike(bool socketFirst)
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        using var http = alice.CreateClient(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, alice, Cancel);
        await socket.ReadBacklogAsync();
        var body = Messages.Body([bob], "once", clientMessageId: Guid.NewGuid().ToString());

        JsonObject overSocket;
        (int Status, JsonNode? Body) overHttp;
        if (socketFirst)
        {
            overSocket = await SocketSends.AnswerAsync(socket, bob.AccountId, body);
            overHttp = await SocketSends.HttpAnswerAsync(http, bob.AccountId, body, Cancel);
        }
        else
        {
            overHttp = await SocketSends.HttpAnswerAsync(http, bob.AccountId, body, Cancel);
            overSocket = await SocketSends.AnswerAsync(socket, bob.AccountId, body);
        }

        SocketSends.SameAnswer(overHttp, overSocket, "the same send over both transports");
        Assert.Equal(200, overHttp.Status);
        var queued = await SocketSends.QueuedAsync(Silo, bob, Cancel);
        Assert.Equal([Messages.Content("once", bob)], queued.Select(Messages.ContentOf));
    }

    [Fact]
    public async Task SendOverSocket_CopyLargerThanTheAckFrameLimit_AnsweredAndDelivered()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, alice, Cancel);
        await socket.ReadBacklogAsync();
        var body = Messages.Body([bob], "large");
        var content = new byte[96 * 1024];
        Random.Shared.NextBytes(content);
        body["messages"]![0]!["content"] = Convert.ToBase64String(content);

        var response = await SocketSends.AnswerAsync(socket, bob.AccountId, body);

        Assert.Equal(200, (int)response["status"]!);
        var queued = Assert.Single(await SocketSends.QueuedAsync(Silo, bob, Cancel));
        Assert.Equal(content, Convert.FromBase64String((string)queued["content"]!));
    }

    [Fact]
    public async Task RequestFrame_OverTheFrameLimit_ClosedWith1009()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, alice, Cancel);
        await socket.ReadBacklogAsync();
        var body = Messages.Body([bob], "huge");
        body["messages"]![0]!["content"] = Convert.ToBase64String(new byte[2 * 1024 * 1024]);

        await SocketSends.SendAsync(socket, "huge", bob.AccountId, body);

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await socket.ClosedAsync("for a frame over the limit"));
        Assert.Empty(await SocketSends.QueuedAsync(Silo, bob, Cancel));
    }
}
