using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Devices;
using Cluster.Testing;

namespace Cluster.Messaging.Tests;

/// <summary>
/// Clients that never answer the server's close frame (raw sockets, upgraded by hand): whatever closes them (4409,
/// 4401, 1001), the server drops the connection within <c>Sockets:CloseTimeout</c> (1 s here), so that such zombies
/// neither hold <c>MaxSockets</c> slots nor, for a removed device, come back to its grain.
/// </summary>
public sealed class SocketLifecycleTests
{
    /// <summary>Ample for a 1-second deadline on a busy machine; without one the connection stays open for good.</summary>
    private static readonly TimeSpan DropWithin = TimeSpan.FromSeconds(20);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static TestSiloSettings Settings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string> { ["Sockets:CloseTimeout"] = "00:00:01" };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return new TestSiloSettings { Settings = settings };
    }

    [Fact]
    public async Task Replaced_ClientNeverAnswersClose_ConnectionDroppedWithinDeadline()
    {
        await using var silo = await TestSilo.StartAsync(Settings(), Cancel);
        var device = await TestAccounts.RegisterAsync(silo);
        using var zombie = await RawWebSocket.ConnectAsync(silo, device, cancellationToken: Cancel);
        await zombie.ReadUntilQueueEmptyAsync();

        await using var newer = await TestSocket.ConnectAsync(silo, device, Cancel);

        Assert.Equal(4409, await zombie.NextCloseAsync("the device connected again"));
        await zombie.DroppedAsync("after its 4409 went unanswered", DropWithin);
        Assert.Empty(await newer.ReadBacklogAsync());
    }

    [Fact]
    public async Task Removed_ClientNeverAnswersClose_ConnectionDroppedWithinDeadline()
    {
        await using var silo = await TestSilo.StartAsync(Settings(), Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await TestAccounts.AddCompanionAsync(silo, primary);
        using var zombie = await RawWebSocket.ConnectAsync(silo, companion, cancellationToken: Cancel);
        await zombie.ReadUntilQueueEmptyAsync();

        await RemoveAsync(silo, primary, companion);

        Assert.Equal(4401, await zombie.NextCloseAsync("the device was removed"));
        await zombie.DroppedAsync("after its 4401 went unanswered", DropWithin);
    }

    [Fact]
    public async Task ShuttingDown_ClientNeverAnswersClose_ConnectionDroppedWithinDeadline()
    {
        var silo = await TestSilo.StartAsync(Settings(), Cancel);
        await using (silo)
        {
            var device = await TestAccounts.RegisterAsync(silo);
            using var zombie = await RawWebSocket.ConnectAsync(silo, device, cancellationToken: Cancel);
            await zombie.ReadUntilQueueEmptyAsync();

            var stopping = silo.StopAsync();

            Assert.Equal(1001, await zombie.NextCloseAsync("the silo is shutting down"));
            await zombie.DroppedAsync("after its 1001 went unanswered", DropWithin);
            await stopping;
        }
    }

    [Fact]
    public async Task Zombies_MoreThanMaxSockets_FreshDeviceStillConnects()
    {
        await using var silo = await TestSilo.StartAsync(Settings(("Cluster:MaxSockets", "20")), Cancel);
        for (var batch = 0; batch < 3; batch++)
        {
            // Ten at a time (25 in all): each zombie is replaced and ignores its 4409; its slot must come back.
            var zombies = new List<RawWebSocket>();
            try
            {
                for (var i = 0; i < (batch < 2 ? 10 : 5); i++)
                {
                    var device = await TestAccounts.RegisterAsync(silo);
                    var zombie = await RawWebSocket.ConnectAsync(silo, device, cancellationToken: Cancel);
                    zombies.Add(zombie);
                    await zombie.ReadUntilQueueEmptyAsync();
                    await using (var replacing = await TestSocket.ConnectAsync(silo, device, Cancel))
                    {
                        await replacing.ReadBacklogAsync();
                    }

                    Assert.Equal(4409, await zombie.NextCloseAsync("the device connected again"));
                }

                foreach (var zombie in zombies)
                {
                    await zombie.DroppedAsync("after its 4409 went unanswered", DropWithin);
                }
            }
            finally
            {
                zombies.ForEach(z => z.Dispose());
            }
        }

        // 25 zombies have come and gone on a silo of 20 sockets: a new device is served.
        var fresh = await TestAccounts.RegisterAsync(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, fresh, Cancel);
        Assert.Empty(await socket.ReadBacklogAsync());
    }

    [Fact]
    public async Task Removed_ZombieOutlivesRelink_NeverAttachesToNewDeviceNorAcksItsEnvelopes()
    {
        // Keep-alive checks every second, and 4 s of life for the zombie: time enough for its old loop to attach again.
        await using var silo = await TestSilo.StartAsync(Settings(("Cluster:SocketKeepAliveSeconds", "1"), ("Sockets:CloseTimeout", "00:00:04")), Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        var removed = await TestAccounts.AddCompanionAsync(silo, bob);
        using var zombie = await RawWebSocket.ConnectAsync(silo, removed, cancellationToken: Cancel);
        await zombie.ReadUntilQueueEmptyAsync();

        await RemoveAsync(silo, bob, removed);
        Assert.Equal(4401, await zombie.NextCloseAsync("the device was removed"));
        var relinked = await Linking.LinkAsync(silo, bob, keyIndex: 500);
        Assert.Equal(removed.DeviceId, relinked.DeviceId);
        using var sender = alice.CreateClient(silo);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob, relinked], "for the new device"), Cancel);
        using var relinkedClient = relinked.CreateClient(silo);
        var stored = await InboxAsync(relinkedClient);
        var id = (string)Assert.Single(stored)!["id"]!;

        // The zombie acks the new device's envelope (its id is guessable, say), and waits.
        await zombie.AckAsync([id]);
        var dropped = zombie.DroppedAsync("after its 4401 went unanswered", DropWithin);
        var grain = silo.Grains.GetGrain<IDeviceGrain>(relinked.Login);
        await Never.TrueAsync(
            async () => await grain.PingAsync(Guid.NewGuid()) != SocketAttachment.Detached,
            DropWithin,
            () => "a socket attached to the re-linked device, which never connected: the removed device's zombie",
            until: dropped);
        var afterClose = await dropped;

        Assert.Empty(afterClose);
        Assert.Equal([id], (await InboxAsync(relinkedClient)).Select(e => (string)e!["id"]!));
        await using var socket = await TestSocket.ConnectAsync(silo, relinked, Cancel);
        var backlog = await socket.ReadBacklogAsync();
        Assert.Equal("for the new device for " + relinked.Login, Messages.ContentOf(Assert.Single(backlog)));
    }

    private static async Task RemoveAsync(TestSilo silo, TestDevice primary, TestDevice companion)
    {
        using var client = primary.CreateClient(silo);
        using var response = await client.DeleteAsync($"/v1/devices/{companion.DeviceId}", Cancel);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private static async Task<JsonArray> InboxAsync(HttpClient device) =>
        (await device.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel))!["envelopes"]!.AsArray();
}
