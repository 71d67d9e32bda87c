using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Devices;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Calls.Tests;

/// <summary>
/// A companion is removed while its socket ignores the 4401 close, and a new companion is linked under the same device
/// id: the zombie must not attach to the new device's grain, which would make the call count the new (offline) device
/// as connected and store no missed-call notice for it.
/// </summary>
public sealed class ZombieSocketCallTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RelinkedUnderRemovedId_ZombieOfRemovedDeviceAlive_NewDeviceGetsMissedCallNotice()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings
            {
                Time = time,
                Settings = new Dictionary<string, string>
                {
                    ["Calls:RingTimeout"] = "00:00:30",
                    ["Cluster:SocketKeepAliveSeconds"] = "1",
                    ["Sockets:CloseTimeout"] = "00:00:08",
                },
            },
            Cancel);
        var a1 = await TestAccounts.RegisterAsync(silo);
        var b1 = await TestAccounts.RegisterAsync(silo);
        var removed = await TestAccounts.AddCompanionAsync(silo, b1);
        using var zombie = await RawWebSocket.ConnectAsync(silo, removed, cancellationToken: Cancel);
        await zombie.ReadUntilQueueEmptyAsync();
        await using var devices = new Devices(silo);
        using (var response = await devices.Client(b1).DeleteAsync($"/v1/devices/{removed.DeviceId}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        Assert.Equal(4401, await zombie.NextCloseAsync("its device was removed"));
        var relinked = await Linking.LinkAsync(silo, b1, keyIndex: 500);
        Assert.Equal(removed.DeviceId, relinked.DeviceId);

        // Keep-alive checks come every second: give the zombie's a few chances, while it lives, to attach it again.
        var grain = silo.Grains.GetGrain<IDeviceGrain>(relinked.Login);
        await Never.TrueAsync(
            async () => await grain.PingAsync(Guid.NewGuid()) != SocketAttachment.Detached,
            TimeSpan.FromSeconds(2.5),
            () => "a socket attached to the re-linked device, which never connected: the removed device's zombie");
        await devices.ConnectAsync(Cancel, b1);

        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1, relinked], Calls.PayloadsFor([b1, relinked])), Cancel);
        await devices.Socket(b1).NextEventAsync("callOffer", callId, b1.Login);
        var zombieGot = await zombie.DroppedAsync("after its 4401 went unanswered", TimeSpan.FromSeconds(20));
        time.Advance(TimeSpan.FromSeconds(30));

        // The notices are stored before anyone is told the call ended.
        await devices.Socket(b1).NextEventAsync("callEnded", callId, b1.Login);
        Assert.Empty(zombieGot);
        var backlog = await devices.ConnectWithBacklogAsync(relinked, Cancel);
        var notice = Assert.Single(backlog);
        Assert.Equal(0, (int)notice["type"]!);
        var content = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String((string)notice["content"]!)))!.AsObject();
        Assert.Equal("missedCall", (string?)content["notice"]);
        Assert.Equal(callId, (string?)content["callId"]);
    }
}
