using System.Net.WebSockets;
using Cluster.Testing;

namespace Cluster.Hosting.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuresTheHeap
{
    public const string Name = "measures the heap";
}

/// <summary>
/// What an idle device socket costs the silo (issue 16): no read buffer is held while no frame is being read. Measured as
/// the growth of this process's managed heap after full collections, with nothing else running (the collection is not
/// run in parallel with other tests). The clients here are raw sockets that read nothing, so what grows is the silo's
/// share (Kestrel connection, WebSocket, socket connection, device grain) plus a bare client socket.
/// </summary>
[Collection(MeasuresTheHeap.Name)]
public sealed class IdleSocketMemoryTests
{
    private const int Sockets = 64;

    /// <summary>The read buffer each idle socket used to hold was 64 KiB by itself (measured here: 101 KiB per socket with it, 37 without).</summary>
    private const long MaxBytesPerIdleSocket = 48 * 1024;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task IdleSockets_NoFrameBeingRead_HoldNoReadBuffer()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var devices = new List<TestDevice>();
        for (var i = 0; i < Sockets + 1; i++)
        {
            devices.Add(await TestAccounts.RegisterAsync(silo));
        }

        // Warm up: the first socket pays for code, pools and caches that every later one shares.
        var warm = await ConnectIdleAsync(silo, devices[^1]);
        var sockets = new List<ClientWebSocket> { warm };
        var before = Heap();
        foreach (var device in devices.Take(Sockets))
        {
            sockets.Add(await ConnectIdleAsync(silo, device));
        }

        var perSocket = (Heap() - before) / Sockets;
        try
        {
            Assert.True(perSocket < MaxBytesPerIdleSocket, $"{perSocket / 1024.0:0.0} KiB of managed heap per idle socket (at most {MaxBytesPerIdleSocket / 1024} KiB)");
            TestContext.Current.TestOutputHelper?.WriteLine($"{perSocket / 1024.0:0.0} KiB per idle socket");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Abort();
                socket.Dispose();
            }
        }
    }

    /// <summary>Connects and reads the first frame (<c>queueEmpty</c>: the silo has attached the socket and its read loop waits); then reads nothing.</summary>
    private static async Task<ClientWebSocket> ConnectIdleAsync(TestSilo silo, TestDevice device)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", TestDevice.BasicAuth(device.Login, device.Password).ToString());
        await socket.ConnectAsync(new UriBuilder(silo.BaseAddress) { Scheme = "ws", Path = "/v1/websocket" }.Uri, Cancel);
        var frame = new byte[256];
        var result = await socket.ReceiveAsync(frame, Cancel);
        Assert.Equal("{\"kind\":\"queueEmpty\"}", System.Text.Encoding.UTF8.GetString(frame, 0, result.Count));
        return socket;
    }

    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
