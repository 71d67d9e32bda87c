using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Messaging.Tests;

[Collection(SharedSilo.Name)]
public sealed class DeliveryTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Connect_BacklogOverWindow_SendsInOrderAtMost256UnackedThenQueueEmpty()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        using var sender = alice.CreateClient(Silo);
        for (var i = 0; i < 300; i++)
        {
            await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], $"m{i:D3}"), Cancel);
        }

        await using var socket = await TestSocket.ConnectAsync(Silo, bob, Cancel);
        var first = new List<JsonObject>();
        for (var i = 0; i < 256; i++)
        {
            first.Add(await socket.NextEnvelopeAsync());
        }

        // The window is full: nothing more comes until an ack. A live send proves the socket is served meanwhile.
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "m300"), Cancel);
        await socket.AckAsync(first.Take(10));
        var next = new List<JsonObject>();
        for (var i = 0; i < 10; i++)
        {
            next.Add(await socket.NextEnvelopeAsync());
        }

        Assert.Equal(Enumerable.Range(0, 256).Select(i => $"m{i:D3}"), first.Select(e => Messages.ContentOf(e).Split(' ')[0]));
        Assert.Equal(Enumerable.Range(256, 10).Select(i => $"m{i:D3}"), next.Select(e => Messages.ContentOf(e).Split(' ')[0]));
        Assert.False(socket.TryTake(out var early), $"only 10 slots were freed, yet more came: {early?.ToJsonString()}");

        await socket.AckAsync(first.Skip(10).Concat(next));
        var rest = await socket.ReadBacklogAsync();
        Assert.Equal(Enumerable.Range(266, 34).Select(i => $"m{i:D3}"), rest.Select(e => Messages.ContentOf(e).Split(' ')[0]));
        var live = await socket.NextEnvelopeAsync();
        Assert.Equal("m300", Messages.ContentOf(live).Split(' ')[0]);
    }

    [Fact]
    public async Task Connect_SecondSocket_FirstClosedWith4409()
    {
        var bob = await TestAccounts.RegisterAsync(Silo);
        var first = await TestSocket.ConnectAsync(Silo, bob, Cancel);
        await first.ReadBacklogAsync();

        await using var second = await TestSocket.ConnectAsync(Silo, bob, Cancel);

        Assert.Equal((WebSocketCloseStatus)4409, await first.Closed.WaitAsync(TimeSpan.FromSeconds(15), Cancel));
        Assert.Empty(await second.ReadBacklogAsync());
        await first.DisposeAsync();
    }

    [Fact]
    public async Task Reconnect_UnackedEnvelopes_SentAgainWithSameIds()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        using var sender = alice.CreateClient(Silo);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "one"), Cancel);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "two"), Cancel);

        List<JsonObject> firstTime;
        await using (var socket = await TestSocket.ConnectAsync(Silo, bob, Cancel))
        {
            firstTime = await socket.ReadBacklogAsync();
            await socket.AckAsync(firstTime.Take(1));
        }

        await using var again = await TestSocket.ConnectAsync(Silo, bob, Cancel);
        var secondTime = await again.ReadBacklogAsync();

        Assert.Equal(2, firstTime.Count);
        var resent = Assert.Single(secondTime);
        Assert.Equal((string?)firstTime[1]["id"], (string?)resent["id"]);
    }

    [Fact]
    public async Task Socket_MalformedClientFrame_ClosedWithInvalidPayload()
    {
        var bob = await TestAccounts.RegisterAsync(Silo);
        await using var socket = await TestSocket.ConnectAsync(Silo, bob, Cancel);
        await socket.ReadBacklogAsync();

        await socket.SendRawAsync("this is not json");

        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await socket.Closed.WaitAsync(TimeSpan.FromSeconds(15), Cancel));
    }

    [Fact]
    public async Task Socket_WrongCredentials_Refused()
    {
        var bob = await TestAccounts.RegisterAsync(Silo);

        var refused = await Assert.ThrowsAnyAsync<WebSocketException>(() => TestSocket.ConnectAsync(Silo, bob with { Password = bob.Password + "x" }, Cancel));

        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysLow_ConnectedDevice_GetsEventWhenCountDropsBelowTen()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo, oneTimeKeys: 10, kemOneTimeKeys: 12);
        await using var socket = await TestSocket.ConnectAsync(Silo, bob, Cancel);
        await socket.ReadBacklogAsync();
        using var fetcher = alice.CreateClient(Silo);

        using var response = await fetcher.GetAsync($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/1", Cancel);

        var frame = await socket.NextAsync("a keysLow event");
        Assert.Equal("event", (string?)frame["kind"]);
        Assert.Equal("keysLow", (string?)frame["event"]!["type"]);
        Assert.Equal(9, (int)frame["event"]!["oneTimeCount"]!);
        Assert.Equal(11, (int)frame["event"]!["kemOneTimeCount"]!);
    }
}
