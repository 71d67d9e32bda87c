using System.Net.Sockets;
using System.Text;

namespace Cluster.Security.Tests;

/// <summary>The head of an answer read off a raw connection: its status and the head's text.</summary>
internal sealed record RawAnswer(int Status, string Head);

/// <summary>How a raw request's bytes go out: all at once or in pieces, and how the connection ends after them.</summary>
internal enum RawEnding
{
    /// <summary>Wait for the answer with the connection open.</summary>
    Open,

    /// <summary>Close the sending half (FIN) after the bytes, then wait for the answer.</summary>
    HalfClose,

    /// <summary>Reset the connection (RST) right after the bytes: no answer is read.</summary>
    Reset,

    /// <summary>Close the connection (FIN, both directions) right after the bytes: no answer is read.</summary>
    Close,
}

/// <summary>
/// HTTP/1.1 over a bare TCP connection, for requests no well-behaved client would send: lying or malformed framing,
/// bodies cut short, bytes that are not HTTP at all. One connection per request; only the answer's head is read.
/// </summary>
internal static class RawHttp
{
    private const int MaxHeadBytes = 64 * 1024;

    /// <summary>
    /// Sends <paramref name="pieces"/> one write each, ends as <paramref name="ending"/> says, and reads the first
    /// answer's head (skipping <c>100 Continue</c>); null when the server answered nothing before it closed or
    /// <paramref name="timeout"/> passed.
    /// </summary>
    public static async Task<RawAnswer?> SendAsync(Uri server, IReadOnlyList<byte[]> pieces, RawEnding ending, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(server.Host, server.Port, deadline.Token);
            var stream = client.GetStream();
            foreach (var piece in pieces)
            {
                await stream.WriteAsync(piece, deadline.Token);
            }

            switch (ending)
            {
                case RawEnding.Reset:
                    client.LingerState = new LingerOption(true, 0);
                    client.Close();
                    return null;
                case RawEnding.Close:
                    client.Close();
                    return null;
                case RawEnding.HalfClose:
                    client.Client.Shutdown(SocketShutdown.Send);
                    break;
            }

            return await ReadHeadAsync(stream, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // The server closed first (it answered before reading everything, or refused the bytes outright).
            return null;
        }
    }

    /// <summary>Reads answer heads until one that is not <c>100 Continue</c>; null when the connection ends first.</summary>
    public static async Task<RawAnswer?> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHeadBytes];
        var length = 0;
        while (true)
        {
            var end = IndexOfHeadEnd(buffer.AsSpan(0, length));
            if (end >= 0)
            {
                var head = Encoding.Latin1.GetString(buffer, 0, end);
                var status = ParseStatus(head);
                if (status != 100)
                {
                    return status is { } value ? new RawAnswer(value, head) : null;
                }

                buffer.AsSpan(end + 4, length - end - 4).CopyTo(buffer);
                length -= end + 4;
                continue;
            }

            if (length == buffer.Length)
            {
                return null;
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                return null;
            }

            length += read;
        }
    }

    private static int IndexOfHeadEnd(ReadOnlySpan<byte> bytes) => bytes.IndexOf("\r\n\r\n"u8);

    private static int? ParseStatus(string head)
    {
        // "HTTP/1.1 400 Bad Request"
        var parts = head.Split(' ', 3);
        return parts.Length >= 2 && parts[0].StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(parts[1], out var status) ? status : null;
    }
}
