using Cluster.Silo.Messaging;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Messaging.Tests;

/// <summary>
/// An idle device socket holds no read buffer (issue 16: it was 64 KiB of each connected device's memory): the silo waits
/// for a client's next frame with a zero-byte read and rents a pooled buffer only while a frame is being read. Counted by
/// the socket itself (<see cref="DeviceSocketConnection.ReadBufferBytes"/>), not inferred from the heap. The clients are
/// raw sockets, so that a frame can be left half sent.
/// </summary>
public sealed class SocketReadBufferTests
{
    private const int IdleSockets = 8;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ReadBuffer_NoReadInProgress_NoneHeldAndOneHeldOnlyWhileAFrameIsHalfRead()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var sockets = silo.Services.GetRequiredService<DeviceSockets>();
        var devices = new List<TestDevice>();
        var raw = new List<RawWebSocket>();
        try
        {
            for (var i = 0; i < IdleSockets; i++)
            {
                var device = await TestAccounts.RegisterAsync(silo);
                var socket = await RawWebSocket.ConnectAsync(silo, device, cancellationToken: Cancel);
                raw.Add(socket);
                devices.Add(device);

                // queueEmpty: the socket is attached and its read loop has begun.
                await socket.ReadUntilQueueEmptyAsync();
            }

            var connections = devices.Select(d => Assert.Single(sockets.SocketsOf(d.Login))).ToList();
            Assert.All(connections, c => Assert.Equal(0, c.ReadBufferBytes));

            // Half a frame: the socket is now in the middle of a read, and holds a buffer for it (the count sees it).
            var frame = "{\"kind\":\"ack\",\"ids\":[]}" + new string(' ', 100);
            var rest = await raw[0].SendTextPartlyAsync(frame, 16);
            await Eventually.TrueAsync(
                () => Task.FromResult(connections[0].ReadBufferBytes > 0),
                TimeSpan.FromSeconds(10),
                () => "a socket in the middle of reading a frame should hold a read buffer");
            Assert.All(connections.Skip(1), c => Assert.Equal(0, c.ReadBufferBytes));

            // The rest of it: the frame is read, and its buffer given back.
            await raw[0].SendBytesAsync(rest);
            await Eventually.TrueAsync(
                () => Task.FromResult(connections[0].ReadBufferBytes == 0),
                TimeSpan.FromSeconds(10),
                () => $"the socket still holds {connections[0].ReadBufferBytes} bytes of read buffer after its frame was read");
            Assert.False(connections[0].IsClosing, "a well-formed ack frame sent in two pieces should not close the socket");
        }
        finally
        {
            foreach (var socket in raw)
            {
                socket.Dispose();
            }
        }
    }
}
