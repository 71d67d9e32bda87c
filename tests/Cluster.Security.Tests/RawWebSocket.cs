using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Cluster.Security.Tests;

/// <summary>
/// A WebSocket client over a bare TCP connection that writes whatever frame it is told to (RFC 6455 framing by hand:
/// unmasked, reserved opcodes and bits, lying lengths, invalid UTF-8), and drains what the server sends so that the
/// server's writes never block on it.
/// </summary>
internal sealed class RawWebSocket : IAsyncDisposable
{
    public const byte Continuation = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA;

    private readonly TcpClient client;
    private readonly NetworkStream stream;
    private readonly Task<ushort?> reader;

    private RawWebSocket(TcpClient client, NetworkStream stream, byte[] leftover)
    {
        this.client = client;
        this.stream = stream;
        reader = DrainAsync(leftover);
    }

    /// <summary>The close code the server sent, once its close frame arrived (null when it closed without one).</summary>
    public Task<ushort?> ServerClosed => reader;

    /// <summary>
    /// Opens a TCP connection and sends an upgrade request for <paramref name="pathAndQuery"/> with
    /// <paramref name="headers"/> (the standard upgrade headers unless <paramref name="replaceUpgradeHeaders"/>).
    /// Answers the status of the upgrade answer, and the socket when it is 101.
    /// </summary>
    public static async Task<(int? Status, RawWebSocket? Socket)> ConnectAsync(
        Uri server, string pathAndQuery, IEnumerable<string> headers, bool replaceUpgradeHeaders, CancellationToken cancellationToken)
    {
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(server.Host, server.Port, cancellationToken);
            var stream = client.GetStream();
            var request = new StringBuilder($"GET {pathAndQuery} HTTP/1.1\r\nHost: {server.Host}:{server.Port}\r\n");
            if (!replaceUpgradeHeaders)
            {
                request.Append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n");
                request.Append("Sec-WebSocket-Key: ").Append(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))).Append("\r\n");
            }

            foreach (var header in headers)
            {
                request.Append(header).Append("\r\n");
            }

            request.Append("\r\n");
            await stream.WriteAsync(Encoding.Latin1.GetBytes(request.ToString()), cancellationToken);
            var (answer, leftover) = await ReadUpgradeAnswerAsync(stream, cancellationToken);
            if (answer != 101)
            {
                client.Dispose();
                return (answer, null);
            }

            return (101, new RawWebSocket(client, stream, leftover));
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            client.Dispose();
            return (null, null);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes one frame. <paramref name="masked"/> false breaks the protocol (clients must mask);
    /// <paramref name="declaredLength"/> lies about the payload's length when given.
    /// </summary>
    public async Task<bool> SendFrameAsync(byte opcode, ReadOnlyMemory<byte> payload, bool fin = true, byte rsv = 0, bool masked = true, ulong? declaredLength = null, CancellationToken cancellationToken = default)
    {
        var length = declaredLength ?? (ulong)payload.Length;
        var header = new byte[14];
        header[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xF));
        int at;
        if (length < 126)
        {
            header[1] = (byte)length;
            at = 2;
        }
        else if (length <= ushort.MaxValue)
        {
            header[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)length);
            at = 4;
        }
        else
        {
            header[1] = 127;
            BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(2), length);
            at = 10;
        }

        var body = payload.ToArray();
        if (masked)
        {
            header[1] |= 0x80;
            var mask = RandomNumberGenerator.GetBytes(4);
            mask.CopyTo(header, at);
            at += 4;
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= mask[i % 4];
            }
        }

        try
        {
            await stream.WriteAsync(header.AsMemory(0, at), cancellationToken);
            await stream.WriteAsync(body, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // The server closed the connection already (it refused an earlier frame).
            return false;
        }
    }

    public Task<bool> SendTextAsync(string text, CancellationToken cancellationToken = default) =>
        SendFrameAsync(Text, Encoding.UTF8.GetBytes(text), cancellationToken: cancellationToken);

    /// <summary>A close frame with <paramref name="code"/> (none when null) and raw reason bytes.</summary>
    public Task<bool> SendCloseAsync(ushort? code, byte[]? reason = null, CancellationToken cancellationToken = default)
    {
        var payload = new byte[(code is null ? 0 : 2) + (reason?.Length ?? 0)];
        if (code is { } value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload, value);
            reason?.CopyTo(payload, 2);
        }

        return SendFrameAsync(Close, payload, cancellationToken: cancellationToken);
    }

    /// <summary>Closes the sending half (FIN) without a close frame.</summary>
    public void HalfClose()
    {
        try
        {
            client.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Resets the connection (RST), as a client that crashed would.</summary>
    public void Reset()
    {
        try
        {
            client.LingerState = new LingerOption(true, 0);
            client.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the server to close; false if it did not.</summary>
    public async Task<bool> WaitForServerCloseAsync(TimeSpan timeout)
    {
        try
        {
            await reader.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await reader;
    }

    private static async Task<(int? Status, byte[] Leftover)> ReadUpgradeAnswerAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                return (null, []);
            }

            length += read;
            var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var statusLine = Encoding.Latin1.GetString(buffer, 0, end).Split("\r\n")[0].Split(' ');
                int? status = statusLine.Length >= 2 && int.TryParse(statusLine[1], out var value) ? value : null;
                return (status, buffer[(end + 4)..length]);
            }
        }

        return (null, []);
    }

    /// <summary>Reads and drops what the server sends; answers the code of its close frame when it sends one.</summary>
    private async Task<ushort?> DrainAsync(byte[] leftover)
    {
        var pending = new List<byte>(leftover);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                if (FindClose(pending) is { } code)
                {
                    return code;
                }

                var read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    return FindClose(pending);
                }

                pending.AddRange(buffer.AsSpan(0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            return FindClose(pending);
        }
    }

    /// <summary>Drops the complete server frames at the start of <paramref name="pending"/>; a close frame's code when one is among them.</summary>
    private static ushort? FindClose(List<byte> pending)
    {
        while (pending.Count >= 2)
        {
            var opcode = pending[0] & 0xF;
            var length = (ulong)(pending[1] & 0x7F);
            var at = 2;
            if (length == 126)
            {
                if (pending.Count < 4)
                {
                    return null;
                }

                length = (ulong)((pending[2] << 8) | pending[3]);
                at = 4;
            }
            else if (length == 127)
            {
                if (pending.Count < 10)
                {
                    return null;
                }

                length = 0;
                for (var i = 2; i < 10; i++)
                {
                    length = (length << 8) | pending[i];
                }

                at = 10;
            }

            if ((ulong)pending.Count < (ulong)at + length)
            {
                return null;
            }

            if (opcode == Close)
            {
                return length >= 2 ? (ushort)((pending[at] << 8) | pending[at + 1]) : (ushort)1005;
            }

            pending.RemoveRange(0, at + (int)length);
        }

        return null;
    }
}
