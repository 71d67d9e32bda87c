using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Cluster.Testing;

/// <summary>A device's or a new device's provisioning WebSocket, as a test client: frames arrive in a queue the test awaits, with timeouts that say what was expected.</summary>
public sealed class TestSocket : IAsyncDisposable
{
    private readonly ClientWebSocket socket;
    private readonly Channel<JsonObject> frames = Channel.CreateUnbounded<JsonObject>();
    private readonly Task reader;
    private readonly TaskCompletionSource<WebSocketCloseStatus?> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wraps a socket a test connected itself (with headers of its own).</summary>
    public TestSocket(ClientWebSocket socket)
    {
        this.socket = socket;
        reader = ReadAsync();
    }

    /// <summary>A device's socket (<c>/v1/websocket</c>), authenticated as <paramref name="device"/>.</summary>
    public static Task<TestSocket> ConnectAsync(TestSilo silo, TestDevice device, CancellationToken cancellationToken = default) =>
        ConnectAsync(silo, "/v1/websocket", TestDevice.BasicAuth(device.Login, device.Password).ToString(), cancellationToken);

    /// <summary>A new device's provisioning socket (<c>/v1/provisioning</c>, unauthenticated), with the address from its first frame.</summary>
    public static async Task<(TestSocket Socket, string Address)> OpenProvisioningAsync(TestSilo silo, CancellationToken cancellationToken = default)
    {
        var socket = await ConnectAsync(silo, "/v1/provisioning", authorization: null, cancellationToken);
        var frame = await socket.NextAsync("the address frame");
        return (string?)frame["kind"] == "address"
            ? (socket, (string)frame["address"]!)
            : throw new InvalidOperationException($"expected the address frame, got {frame.ToJsonString()}");
    }

    private static async Task<TestSocket> ConnectAsync(TestSilo silo, string path, string? authorization, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        if (authorization is not null)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }

        await socket.ConnectAsync(new UriBuilder(silo.BaseAddress) { Scheme = "ws", Path = path }.Uri, cancellationToken);
        return new TestSocket(socket);
    }

    /// <summary>The close status the server sent, once the socket has closed.</summary>
    public Task<WebSocketCloseStatus?> Closed => closed.Task;

    /// <summary>The description the server gave with its close.</summary>
    public string? CloseDescription => socket.CloseStatusDescription;

    /// <summary>The close status, waiting at most <paramref name="timeout"/> for the server to close.</summary>
    public async Task<WebSocketCloseStatus?> ClosedAsync(string why, TimeSpan? timeout = null)
    {
        try
        {
            return await closed.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the server did not close the socket; expected it to close {why}");
        }
    }

    /// <summary>The next frame; fails after <paramref name="timeout"/> naming <paramref name="expected"/>.</summary>
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

    /// <summary>The next envelope frame's envelope.</summary>
    public async Task<JsonObject> NextEnvelopeAsync(TimeSpan? timeout = null)
    {
        var frame = await NextAsync("an envelope", timeout);
        return (string?)frame["kind"] == "envelope"
            ? frame["envelope"]!.AsObject()
            : throw new InvalidOperationException($"expected an envelope, got {frame.ToJsonString()}");
    }

    /// <summary>Reads frames until queueEmpty and returns the envelopes before it.</summary>
    public async Task<List<JsonObject>> ReadBacklogAsync(TimeSpan? timeout = null)
    {
        var envelopes = new List<JsonObject>();
        while (true)
        {
            var frame = await NextAsync("the backlog and then queueEmpty", timeout);
            switch ((string?)frame["kind"])
            {
                case "queueEmpty":
                    return envelopes;
                case "envelope":
                    envelopes.Add(frame["envelope"]!.AsObject());
                    break;
                default:
                    throw new InvalidOperationException($"unexpected frame before queueEmpty: {frame.ToJsonString()}");
            }
        }
    }

    /// <summary>Whether a frame is waiting right now (without waiting for one).</summary>
    public bool TryTake(out JsonObject? frame) => frames.Reader.TryRead(out frame);

    public Task AckAsync(IEnumerable<JsonObject> envelopes) => AckAsync(envelopes.Select(e => (string)e["id"]!));

    public async Task AckAsync(IEnumerable<string> ids)
    {
        var frame = new JsonObject { ["kind"] = "ack", ["ids"] = new JsonArray(ids.Select(id => (JsonNode)id).ToArray()) };
        await socket.SendAsync(Encoding.UTF8.GetBytes(frame.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
    }

    public async Task SendRawAsync(string text) =>
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

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
            // Only the close frame is sent here: the reader loop receives the server's answer. CloseAsync would receive
            // too, concurrently with the reader, and the two could split one message's fragments between them.
            try
            {
                using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancel.Token);
                await reader.WaitAsync(cancel.Token);
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
