using Cluster.Testing;

namespace Cluster.Messaging.Tests;

/// <summary>
/// Each envelope goes to the device as one WebSocket frame holding the whole <c>{"kind":"envelope",...}</c> message
/// (issue 16: written as three fragments, it cost three writes through the socket's pipe per delivery). Read with a raw
/// socket, which counts the frames a message came in.
/// </summary>
public sealed class SocketFrameTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false, 10)]
    [InlineData(false, 40 * 1024)]
    [InlineData(true, 40 * 1024)]
    public async Task Envelope_StoredOrOnlineSmallOrLarge_ArrivesAsOneWholeFrame(bool online, int contentChars)
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        using var socket = await RawWebSocket.ConnectAsync(silo, bob, cancellationToken: Cancel);
        await socket.ReadUntilQueueEmptyAsync();

        var text = new string('x', contentChars);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], text, online: online), Cancel);

        var message = await socket.NextAsync("the envelope");
        Assert.Equal(RawMessage.Text, message.Opcode);
        Assert.Equal(1, message.Fragments);
        var frame = message.Json;
        Assert.Equal("envelope", (string?)frame["kind"]);
        var envelope = frame["envelope"]!.AsObject();
        Assert.Equal(Messages.Content(text, bob), Messages.ContentOf(envelope));
        Assert.Equal(alice.AccountId, (string?)envelope["sourceAccount"]);
    }
}
