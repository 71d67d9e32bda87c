using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Cluster.Testing;

/// <summary>One message a <see cref="RawWebSocket"/> read: its opcode (1 text, 8 close), its payload, fragments joined, and how many WebSocket frames it came in.</summary>
public sealed record RawMessage(int Opcode, byte[] Payload, int Fragments = 1)
{
    public const int Text = 1;
    public const int Close = 8;

    /// <summary>The status of a close frame (1005, "none", when it carries none).</summary>
    public int CloseStatus => Opcode == Close && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : 1005;

    /// <summary>A text frame's JSON.</summary>
    public JsonObject Json => JsonNode.Parse(Payload)!.AsObject();

    public override string ToString() => Opcode == Close ? $"close {CloseStatus}" : Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// A device socket as a hostile client holds it: a TCP connection upgraded by hand, which reads only when the test asks,
/// never answers a ping and never answers the server's close frame. What it observes is what the server does to it:
/// the frames it sent, and whether (and when) it dropped the connection.
/// </summary>
public sealed class RawWebSocket : IDisposable
{
    private readonly TcpClient client;
    private readonly NetworkStream stream;

    private RawWebSocket(TcpClient client)
    {
        this.client = client;
        stream = client.GetStream();
    }

    /// <summary>
    /// Opens <c>/v1/websocket</c> as <paramref name="device"/>. A small <paramref name="receiveBufferBytes"/> makes the
    /// connection fill up after little data when the test does not read.
    /// </summary>
    public static Task<RawWebSocket> ConnectAsync(TestSilo silo, TestDevice device, int? receiveBufferBytes = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(silo.BaseAddress, device, receiveBufferBytes, cancellationToken);

    /// <summary>Opens <c>/v1/websocket</c> as <paramref name="device"/> on the silo at <paramref name="baseAddress"/> (one in another process).</summary>
    public static async Task<RawWebSocket> ConnectAsync(Uri baseAddress, TestDevice device, int? receiveBufferBytes = null, CancellationToken cancellationToken = default)
    {
        var client = new TcpClient();
        RawWebSocket? socket = null;
        try
        {
            if (receiveBufferBytes is { } size)
            {
                client.ReceiveBufferSize = size;
            }

            await client.ConnectAsync(baseAddress.Host, baseAddress.Port, cancellationToken);
            socket = new RawWebSocket(client);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = $"GET /v1/websocket HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: {TestDevice.BasicAuth(device.Login, device.Password)}\r\n\r\n";
            await socket.stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
            var head = await socket.ReadHeadAsync(cancellationToken);
            if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the upgrade was refused: {head}");
            }

            return socket;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The next data or close message (pings are read and never answered); fails after <paramref name="timeout"/> naming <paramref name="expected"/>.</summary>
    public async Task<RawMessage> NextAsync(string expected, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        try
        {
            return await ReadMessageAsync(cancel.Token) ?? throw new InvalidOperationException($"the server dropped the connection; expected {expected}");
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"nothing arrived; expected {expected}");
        }
    }

    /// <summary>Reads until <c>queueEmpty</c>.</summary>
    public async Task ReadUntilQueueEmptyAsync()
    {
        while ((string?)(await NextAsync("the backlog and queueEmpty")).Json["kind"] != "queueEmpty")
        {
        }
    }

    /// <summary>Reads until the server's close frame and returns its status (never answering it).</summary>
    public async Task<int> NextCloseAsync(string why, TimeSpan? timeout = null)
    {
        while (true)
        {
            var message = await NextAsync($"a close frame ({why})", timeout);
            if (message.Opcode == RawMessage.Close)
            {
                return message.CloseStatus;
            }
        }
    }

    /// <summary>
    /// Reads whatever comes until the server drops the connection (a read returns 0, or the connection is reset), and
    /// returns what came meanwhile; fails if the connection is still open after <paramref name="timeout"/>.
    /// </summary>
    public async Task<List<RawMessage>> DroppedAsync(string why, TimeSpan timeout)
    {
        var received = new List<RawMessage>();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (await ReadMessageAsync(cancel.Token) is { } message)
            {
                received.Add(message);
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"the server kept the connection open for {timeout.TotalSeconds:0} s; expected it to drop it {why}");
        }
        catch (IOException)
        {
            // Reset by the server: dropped.
        }

        return received;
    }

    /// <summary>Sends a text frame, masked as a client must.</summary>
    public async Task SendTextAsync(string text)
    {
        var frame = TextFrame(text);
        await stream.WriteAsync(frame);
    }

    /// <summary>
    /// Sends the first <paramref name="bytes"/> bytes of a masked text frame (its header included) and returns the rest,
    /// for <see cref="SendBytesAsync"/>: until then the server is in the middle of reading the frame.
    /// </summary>
    public async Task<ReadOnlyMemory<byte>> SendTextPartlyAsync(string text, int bytes)
    {
        var frame = TextFrame(text);
        await stream.WriteAsync(frame.AsMemory(0, bytes));
        return frame.AsMemory(bytes);
    }

    /// <summary>Sends bytes as they are (the rest of a frame begun by <see cref="SendTextPartlyAsync"/>).</summary>
    public async Task SendBytesAsync(ReadOnlyMemory<byte> bytes) => await stream.WriteAsync(bytes);

    private static byte[] TextFrame(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        var header = new List<byte> { 0x81 };
        if (payload.Length < 126)
        {
            header.Add((byte)(0x80 | payload.Length));
        }
        else
        {
            header.Add(0x80 | 126);
            header.Add((byte)(payload.Length >> 8));
            header.Add((byte)payload.Length);
        }

        var mask = RandomNumberGenerator.GetBytes(4);
        header.AddRange(mask);
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] ^= mask[i % 4];
        }

        return [.. header, .. payload];
    }

    /// <summary>Sends <c>{"kind":"ack","ids":[...]}</c>.</summary>
    public Task AckAsync(IEnumerable<string> ids) =>
        SendTextAsync(new JsonObject { ["kind"] = "ack", ["ids"] = new JsonArray(ids.Select(id => (JsonNode)id).ToArray()) }.ToJsonString());

    public void Dispose() => client.Dispose();

    private async Task<string> ReadHeadAsync(CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new InvalidOperationException($"the server closed during the upgrade: {Encoding.ASCII.GetString(head.ToArray())}");
            }

            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString(head.ToArray());
    }

    /// <summary>One message, fragments joined, pings and pongs skipped; null when the server closed the connection.</summary>
    private async Task<RawMessage?> ReadMessageAsync(CancellationToken cancellationToken)
    {
        var payload = new MemoryStream();
        var opcode = -1;
        var fragments = 0;
        while (true)
        {
            var header = new byte[2];
            if (!await ReadExactlyAsync(header, cancellationToken))
            {
                return null;
            }

            var fin = (header[0] & 0x80) != 0;
            var frameOpcode = header[0] & 0x0F;
            long length = header[1] & 0x7F;
            if (length == 126)
            {
                var extended = new byte[2];
                if (!await ReadExactlyAsync(extended, cancellationToken))
                {
                    return null;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(extended);
            }
            else if (length == 127)
            {
                var extended = new byte[8];
                if (!await ReadExactlyAsync(extended, cancellationToken))
                {
                    return null;
                }

                length = (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
            }

            var data = new byte[length];
            if (!await ReadExactlyAsync(data, cancellationToken))
            {
                return null;
            }

            if (frameOpcode is 9 or 10)
            {
                continue;
            }

            if (frameOpcode == RawMessage.Close)
            {
                return new RawMessage(RawMessage.Close, data);
            }

            if (frameOpcode != 0)
            {
                opcode = frameOpcode;
            }

            payload.Write(data);
            fragments++;
            if (fin)
            {
                return new RawMessage(opcode, payload.ToArray(), fragments);
            }
        }
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }
}
