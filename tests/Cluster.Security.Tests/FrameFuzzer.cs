using System.Text;

namespace Cluster.Security.Tests;

/// <summary>A login a socket session may use: in the Authorization header or the query string.</summary>
internal sealed record SocketLogin(string Login, string Password)
{
    public string Header => "Authorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Login}:{Password}"));

    public string Query => $"?login={Uri.EscapeDataString(Login)}&password={Uri.EscapeDataString(Password)}";
}

/// <summary>What one socket session did: the upgrade's status (null: no answer) and what it sent.</summary>
internal sealed record SocketSession(int? UpgradeStatus, string Description, int FramesSent);

/// <summary>
/// Socket sessions that misbehave on purpose, on the device socket and the provisioning socket: broken upgrades, then
/// binary frames, invalid UTF-8, JSON of every wrong shape (unusable send requests among them), frames over the limit or lying about their length, fragments
/// out of order, control frames the protocol forbids, unmasked frames, bad close frames; and an ending that is a close
/// handshake, a FIN or a reset. Session <c>i</c> of seed <c>s</c> is always the same.
/// </summary>
internal static class FrameFuzzer
{
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    public static async Task<SocketSession> RunAsync(Uri server, int seed, int index, IReadOnlyList<SocketLogin> logins, CancellationToken cancellationToken)
    {
        var random = new Random(unchecked((seed * 1_000_003) + index) ^ 0x50C4E7);
        var what = new List<string>();
        var provisioning = random.Next(3) == 0;
        var path = provisioning ? "/v1/provisioning" : "/v1/websocket";
        var headers = new List<string>();
        var login = logins[random.Next(logins.Count)];
        switch (random.Next(10))
        {
            case < 7:
                headers.Add(login.Header);
                break;
            case 7:
                path += login.Query;
                what.Add("login in the query");
                break;
            case 8:
                headers.Add(Pick(random, ["Authorization: Basic !!!", "Authorization: Bearer x", new SocketLogin(login.Login, "wrong-password-wrong").Header]));
                what.Add("bad credentials");
                break;
            default:
                what.Add("no credentials");
                break;
        }

        var replace = random.Next(10) == 0;
        if (replace)
        {
            var broken = Pick<string[]>(random, [
                ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"],
                ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 99", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="],
                ["Upgrade: websocketx", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="],
                ["Upgrade: websocket", "Connection: keep-alive", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="],
                ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: abc"],
                ["Upgrade: h2c", "Connection: Upgrade, HTTP2-Settings", "HTTP2-Settings: AAMAAABkAAQAAP__"],
            ]);
            headers.AddRange(broken);
            what.Add("broken upgrade " + string.Join(", ", broken));
        }

        var (status, socket) = await RawWebSocket.ConnectAsync(server, path, headers, replace, cancellationToken);
        var description = $"{path.Split('?')[0]} {string.Join("; ", what)}";
        if (socket is null)
        {
            return new SocketSession(status, description, 0);
        }

        await using (socket)
        {
            var sent = 0;
            var frames = random.Next(1, 9);
            for (var i = 0; i < frames; i++)
            {
                var (label, send) = Frame(random);
                what.Add(label);
                sent++;
                if (!await send(socket, cancellationToken))
                {
                    break;
                }
            }

            switch (random.Next(10))
            {
                case < 4:
                    var code = Pick<ushort?>(random, [1000, 1000, 1001, null, 999, 1005, 1006, 1015, 2999, 4000, 5000, 65535]);
                    await socket.SendCloseAsync(code, random.Next(4) == 0 ? [0xC3, 0x28] : null, cancellationToken);
                    what.Add($"close {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "without code"}");
                    await socket.WaitForServerCloseAsync(CloseWait);
                    break;
                case < 7:
                    socket.HalfClose();
                    what.Add("FIN");
                    await socket.WaitForServerCloseAsync(CloseWait);
                    break;
                default:
                    socket.Reset();
                    what.Add("RST");
                    break;
            }

            return new SocketSession(status, $"{path.Split('?')[0]} {string.Join("; ", what)}", sent);
        }
    }

    private static (string, Func<RawWebSocket, CancellationToken, Task<bool>>) Frame(Random random)
    {
        switch (random.Next(20))
        {
            case 0:
                return ("binary frame", (s, ct) => s.SendFrameAsync(RawWebSocket.Binary, Bytes(random, random.Next(0, 2000)), cancellationToken: ct));
            case 1:
                var bad = Pick<byte[]>(random, [[0xC3, 0x28], [0xFF, 0xFE], [0xED, 0xA0, 0x80], [0x7B, 0xC0, 0xAF, 0x7D]]);
                return ($"text with invalid UTF-8 {Convert.ToHexString(bad)}", (s, ct) => s.SendFrameAsync(RawWebSocket.Text, bad, cancellationToken: ct));
            case 2:
            case 3:
                var json = Pick(random, [
                    "{\"kind\":\"ack\",\"ids\":\"x\"}", "{\"kind\":\"ack\",\"ids\":[1,2]}", "{\"kind\":\"ack\",\"ids\":[null]}", "{\"kind\":1}",
                    "[]", "\"x\"", "null", "{\"kind\":\"ack\",\"ids\":[\"not-a-uuid\"]}", "{\"kind\":\"\\ud800\"}", "{\"kind\":\"ack\",\"ids\":{}}",
                    "{\"kind\":\"ack\",\"ids\":[\"00000000-0000-0000-0000-000000000000\"]}", "{\"kind\":\"ack\"}", "{\"kind\":null,\"ids\":null}",
                    "{\"kind\":\"ack\",\"ids\":[\"" + Guid.Empty + "\"],\"ids\":7}", "{\"kind\":\"ack\",\"ids\":[1e400]}", "{}", "{\"kind\":\"ping\"}",
                    "{\"kind\":\"ack\",\"ids\":[" + string.Join(',', Enumerable.Repeat("\"" + Guid.Empty + "\"", 1500)) + "]}",
                    "{\"kind\":\"request\"}", "{\"kind\":\"request\",\"id\":7}", "{\"kind\":\"request\",\"id\":\"\\ud800\"}", "{\"kind\":\"request\",\"id\":\"r\"}",
                    "{\"kind\":\"request\",\"id\":\"r\",\"type\":\"dropTables\"}", "{\"kind\":\"request\",\"id\":\"r\",\"type\":\"sendMessages\",\"accountId\":[]}",
                    "{\"kind\":\"request\",\"id\":\"r\",\"type\":\"sendMessages\",\"accountId\":\"+15550000000\",\"body\":{\"messages\":[null],\"timestamp\":-1}}",
                    "{\"kind\":\"request\",\"id\":\"r\",\"type\":\"sendMessages\",\"accountId\":\"+15550000000\",\"body\":\"x\"}",
                    "{\"kind\":\"request\",\"id\":\"" + new string('x', 60_000) + "\",\"type\":\"sendMessages\"}",
                ]);
                return ($"JSON {(json.Length > 50 ? json[..50] + "…" : json)}", (s, ct) => s.SendTextAsync(json, ct));
            case 4:
                var ack = "{\"kind\":\"ack\",\"ids\":[" + string.Join(',', Enumerable.Range(0, random.Next(1, 50)).Select(_ => "\"" + new Guid(Bytes(random, 16)) + "\"")) + "]}";
                return ("an ack of random ids", (s, ct) => s.SendTextAsync(ack, ct));
            case 5:
                return ("text that is not JSON", (s, ct) => s.SendTextAsync(Pick(random, ["hello", "{", "}{", "{\"kind\":", "\0\0", " "]), ct));
            case 6:
                var size = Pick(random, [65 * 1024, 70 * 1024, 200 * 1024, 1200 * 1024]);
                return ($"a frame of {size} bytes", (s, ct) => s.SendFrameAsync(RawWebSocket.Text, Encoding.ASCII.GetBytes(new string(' ', size - 2) + "{}"), cancellationToken: ct));
            case 7:
                var declared = Pick<ulong>(random, [1UL << 20, 1UL << 40, long.MaxValue, ulong.MaxValue]);
                return ($"a frame declaring {declared} bytes", (s, ct) => s.SendFrameAsync(RawWebSocket.Text, "{}"u8.ToArray(), declaredLength: declared, cancellationToken: ct));
            case 8:
                return ("a valid message in three fragments", async (s, ct) =>
                    await s.SendFrameAsync(RawWebSocket.Text, "{\"kind\":"u8.ToArray(), fin: false, cancellationToken: ct)
                    && await s.SendFrameAsync(RawWebSocket.Continuation, "\"ack\",\"ids\":"u8.ToArray(), fin: false, cancellationToken: ct)
                    && await s.SendFrameAsync(RawWebSocket.Continuation, "[]}"u8.ToArray(), cancellationToken: ct));
            case 9:
                return ("a ping between fragments", async (s, ct) =>
                    await s.SendFrameAsync(RawWebSocket.Text, "{\"kind\":"u8.ToArray(), fin: false, cancellationToken: ct)
                    && await s.SendFrameAsync(RawWebSocket.Ping, "p"u8.ToArray(), cancellationToken: ct)
                    && await s.SendFrameAsync(RawWebSocket.Continuation, "\"x\"}"u8.ToArray(), cancellationToken: ct));
            case 10:
                return ("a continuation without a start", (s, ct) => s.SendFrameAsync(RawWebSocket.Continuation, "{}"u8.ToArray(), cancellationToken: ct));
            case 11:
                return ("a new message inside a fragmented one", async (s, ct) =>
                    await s.SendFrameAsync(RawWebSocket.Text, "{"u8.ToArray(), fin: false, cancellationToken: ct)
                    && await s.SendFrameAsync(RawWebSocket.Binary, "x"u8.ToArray(), cancellationToken: ct));
            case 12:
                return ("a fragmented ping", (s, ct) => s.SendFrameAsync(RawWebSocket.Ping, "p"u8.ToArray(), fin: false, cancellationToken: ct));
            case 13:
                return ("a ping of 200 bytes", (s, ct) => s.SendFrameAsync(RawWebSocket.Ping, Bytes(random, 200), cancellationToken: ct));
            case 14:
                return ("an unsolicited pong", (s, ct) => s.SendFrameAsync(RawWebSocket.Pong, Bytes(random, 10), cancellationToken: ct));
            case 15:
                var opcode = Pick<byte>(random, [0x3, 0x7, 0xB, 0xF]);
                return ($"reserved opcode {opcode}", (s, ct) => s.SendFrameAsync(opcode, "{}"u8.ToArray(), cancellationToken: ct));
            case 16:
                var rsv = (byte)random.Next(1, 8);
                return ($"reserved bits {rsv}", (s, ct) => s.SendFrameAsync(RawWebSocket.Text, "{}"u8.ToArray(), rsv: rsv, cancellationToken: ct));
            case 17:
                return ("an unmasked frame", (s, ct) => s.SendFrameAsync(RawWebSocket.Text, "{\"kind\":\"ack\",\"ids\":[]}"u8.ToArray(), masked: false, cancellationToken: ct));
            case 18:
                return ("a close frame of one byte", (s, ct) => s.SendFrameAsync(RawWebSocket.Close, new byte[] { 0x03 }, cancellationToken: ct));
            default:
                return ("an empty text frame", (s, ct) => s.SendFrameAsync(RawWebSocket.Text, Array.Empty<byte>(), cancellationToken: ct));
        }
    }

    private static byte[] Bytes(Random random, int length) => Fuzzer.RandomBytes(random, length);

    private static T Pick<T>(Random random, T[] items) => Fuzzer.Pick(random, items);
}
