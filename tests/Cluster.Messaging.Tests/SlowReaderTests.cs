using Cluster.Silo.Messaging;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Messaging.Tests;

/// <summary>
/// A device that stops reading while another floods it with <c>online</c> messages of 60 KiB: the silo buffers at most
/// <c>Sockets:MaxOutboundBytes</c> for it, drops the best-effort frames past that, closes the socket with 4408 once it has
/// stayed full for <c>Sockets:SlowCloseAfter</c>, and loses none of the stored envelopes, which come once each on the next
/// connection. The bound is set near its smallest here (the unacked window shrunk to match) so that a few frames fill it.
/// </summary>
public sealed class SlowReaderTests
{
    private const int MaxOutboundBytes = 300_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StopsReading_FloodOfOnlineMessages_BufferStaysUnderBoundSocketClosed4408StoredEnvelopesComeAfterReconnect()
    {
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings
            {
                Settings = new Dictionary<string, string>
                {
                    ["Messages:MaxUnackedBytes"] = "65536",
                    ["Sockets:MaxOutboundBytes"] = MaxOutboundBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["Sockets:SlowCloseAfter"] = "00:00:03",
                    ["Sockets:CloseTimeout"] = "00:00:01",
                },
            },
            Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        using var slow = await RawWebSocket.ConnectAsync(silo, bob, receiveBufferBytes: 4096, Cancel);
        await slow.ReadUntilQueueEmptyAsync();
        var connection = Assert.Single(silo.Services.GetRequiredService<DeviceSockets>().SocketsOf(bob.Login));

        // From here on the device reads nothing. Online messages until the socket has had to drop some (the kernel's
        // buffers take the first few megabytes), then the stored ones.
        var online = Messages.Body([bob], new string('x', 60 * 1024), online: true);
        for (var sent = 0; connection.DroppedFrames == 0 && !connection.IsClosing; sent++)
        {
            Assert.True(sent < 2_000, "2,000 online messages of 60 KiB and the socket never dropped one");
            await Messages.SendOkAsync(sender, bob.AccountId, online, Cancel);
        }

        for (var i = 0; i < 20; i++)
        {
            await Messages.SendOkAsync(sender, bob.AccountId, online, Cancel);
        }

        var stored = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            stored.Add($"stored {i}");
            await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], stored[^1]), Cancel);
        }

        await Eventually.TrueAsync(
            () => Task.FromResult(silo.Services.GetRequiredService<DeviceSockets>().SocketsOf(bob.Login).Count == 0),
            TimeSpan.FromSeconds(30),
            () => $"the slow socket should have been closed and dropped; it holds {connection.BufferedBytes} bytes, dropped {connection.DroppedFrames} frames");
        await slow.DroppedAsync("once closed as too slow", TimeSpan.FromSeconds(20));

        Assert.Equal(DeviceSocketConnection.TooSlowStatus, connection.CloseStatus);
        Assert.True(connection.PeakBufferedBytes <= MaxOutboundBytes, $"the socket buffered {connection.PeakBufferedBytes} bytes, over its bound of {MaxOutboundBytes}");
        Assert.Equal(0, connection.BufferedBytes);
        await using var again = await TestSocket.ConnectAsync(silo, bob, Cancel);
        var backlog = await again.ReadBacklogAsync();
        Assert.Equal(stored.Select(s => Messages.Content(s, bob)), backlog.Select(Messages.ContentOf));
        Assert.Equal(backlog.Count, backlog.Select(e => (string)e["id"]!).Distinct().Count());
    }
}
