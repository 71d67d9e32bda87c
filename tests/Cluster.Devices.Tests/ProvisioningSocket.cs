using System.Net.WebSockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Cluster.Testing;

namespace Cluster.Devices.Tests;

/// <summary>
/// A new device's provisioning socket (unauthenticated), as a test client: frames arrive in a queue the test awaits,
/// with timeouts that say what was expected.
/// </summary>
internal sealed class ProvisioningSocket : IAsyncDisposable
{
    private readonly ClientWebSocket socket;
    private readonly Channel<JsonObject> frames = Channel.CreateUnbounded<JsonObject>();
    private readonly TaskCompletionSource<WebSocketCloseStatus?> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task reader;

    private ProvisioningSocket(ClientWebSocket socket)
    {
        this.socket = socket;
        reader = ReadAsync();
    }

    public static async Task<ProvisioningSocket> ConnectAsync(TestSilo silo, CancellationToken cancellationToken = default)
    {
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(silo.BaseAddress) { Scheme = "ws", Path = "/v1/provisioning" }.Uri;
        await socket.ConnectAsync(uri, cancellationToken);
        return new ProvisioningSocket(socket);
    }

    /// <summary>Connects and reads the address frame.</summary>
    public static async Task<(ProvisioningSocket Socket, string Address)> OpenAsync(TestSilo silo, CancellationToken cancellationToken = default)
    {
        var socket = await ConnectAsync(silo, cancellationToken);
        var frame = await socket.NextAsync("the address frame");
        Assert.Equal("address", (string?)frame["kind"]);
        return (socket, (string)frame["address"]!);
    }

    /// <summary>The close status the server sent, once the socket has closed.</summary>
    public Task<WebSocketCloseStatus?> Closed => closed.Task;

    /// <summary>The description the server gave with its close.</summary>
    public string? CloseDescription => socket.CloseStatusDescription;

    public async Task<JsonObject> NextAsync(string expected, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        try
        {
            return await frames.Reader.ReadAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no frame arrived; expected {expected}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"the socket closed ({socket.CloseStatus}); expected {expected}");
        }
    }

    /// <summary>The close status, waiting at most <paramref name="timeout"/> for the server to close.</summary>
    public async Task<WebSocketCloseStatus?> ClosedAsync(string why, TimeSpan? timeout = null)
    {
        try
        {
            return await closed.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the server did not close the provisioning socket; expected it to close {why}");
        }
    }

    /// <summary>Whether a frame is waiting right now (without waiting for one).</summary>
    public bool TryTake(out JsonObject? frame) => frames.Reader.TryRead(out frame);

    private async Task ReadAsync()
    {
        var buffer = new byte[1 << 21];
        try
        {
            while (true)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), CancellationToken.None);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    closed.TrySetResult(result.CloseStatus);
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return;
                }

                frames.Writer.TryWrite(JsonNode.Parse(buffer.AsSpan(0, length))!.AsObject());
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            closed.TrySetResult(socket.CloseStatus);
        }
        finally
        {
            frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (socket.State == WebSocketState.Open)
        {
            try
            {
                using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancel.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }

        socket.Abort();
        await reader;
        socket.Dispose();
    }
}
