using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Cluster.Signal;

namespace Cluster.Cli.Provisioning;

/// <summary>How to run <c>provision</c>.</summary>
/// <param name="Server">The silo's HTTP(S) base address.</param>
/// <param name="Invert">Draw the QR code for a light terminal background.</param>
public sealed record ProvisionSettings(Uri Server, bool Invert = false);

/// <summary>
/// <c>provision</c>: what a new device does in steps 1 and 2 of linking. Opens <c>/v1/provisioning</c>, shows the
/// address it is given (with a fresh identity key) as a QR code, and waits for the primary's provisioning message.
/// The message is client-encrypted; this tool reports that it arrived and how long it is.
/// </summary>
public static class ProvisionCommand
{
    /// <summary>The line that carries the address, as <c>Provisioning address: &lt;address&gt;</c>.</summary>
    public const string AddressLinePrefix = "Provisioning address: ";

    /// <summary>The line that carries the link the QR code holds.</summary>
    public const string LinkLinePrefix = "Link: ";

    // A provisioning body is at most 256 KiB; its frame, with JSON escapes, stays well below this.
    private const int MaxFrameBytes = 4 * 1024 * 1024;

    /// <summary>Runs the flow; returns <see cref="ExitCodes.Success"/> once the provisioning message arrived.</summary>
    /// <param name="settings">Where to connect and how to draw.</param>
    /// <param name="output">Where the QR code and progress go.</param>
    /// <param name="cancellationToken">Gives up waiting.</param>
    public static async Task<int> RunAsync(ProvisionSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        var identity = ECKeyPair.Generate();
        var endpoint = SocketUri(settings.Server);
        using var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
        }
        catch (WebSocketException ex)
        {
            output.WriteLine($"Could not open {endpoint}: {ex.Message}");
            return ExitCodes.Failure;
        }

        try
        {
            using var first = await ReceiveAsync(socket, cancellationToken);
            if (first is null || Kind(first) != "address" || !first.RootElement.TryGetProperty("address", out var addressElement)
                || addressElement.GetString() is not { Length: > 0 } address)
            {
                output.WriteLine($"The server did not send a provisioning address{ClosedBecause(socket)}.");
                return ExitCodes.Failure;
            }

            var link = LinkUri.Create(address, identity.PublicKey.Span);
            output.WriteLine(AddressLinePrefix + address);
            output.WriteLine("Scan this code with the primary device:");
            output.WriteLine();
            output.WriteLine(TerminalQrCode.Render(link, settings.Invert));
            output.WriteLine(LinkLinePrefix + link);
            output.WriteLine("Waiting for the provisioning message (the address expires after 10 minutes)...");
            output.Flush();

            using var next = await ReceiveAsync(socket, cancellationToken);
            if (next is null || Kind(next) != "provision" || !next.RootElement.TryGetProperty("body", out var bodyElement)
                || bodyElement.ValueKind != JsonValueKind.String)
            {
                output.WriteLine($"No provisioning message arrived{ClosedBecause(socket)}.");
                return ExitCodes.Failure;
            }

            var body = bodyElement.GetString()!;
            output.WriteLine($"Provisioning message arrived: {Encoding.UTF8.GetByteCount(body)} bytes.");
            await CloseAsync(socket);
            return ExitCodes.Success;
        }
        catch (WebSocketException ex)
        {
            output.WriteLine($"The provisioning socket failed: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (JsonException)
        {
            output.WriteLine("The server sent a frame that is not JSON.");
            return ExitCodes.Failure;
        }
    }

    /// <summary><c>http://host/base</c> becomes <c>ws://host/base/v1/provisioning</c>.</summary>
    public static Uri SocketUri(Uri server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var builder = new UriBuilder(server) { Scheme = server.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        builder.Path = builder.Path.TrimEnd('/') + "/v1/provisioning";
        return builder.Uri;
    }

    /// <summary>The next text message as JSON, or null when the server closed the socket instead.</summary>
    private static async Task<JsonDocument?> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var message = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var result = await socket.ReceiveAsync(message.GetMemory(4096), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await CloseAsync(socket);
                return null;
            }

            message.Advance(result.Count);
            if (message.WrittenCount > MaxFrameBytes)
            {
                throw new WebSocketException($"a frame of more than {MaxFrameBytes} bytes");
            }

            if (result.EndOfMessage)
            {
                return JsonDocument.Parse(message.WrittenMemory);
            }
        }
    }

    private static string? Kind(JsonDocument frame) =>
        frame.RootElement.ValueKind == JsonValueKind.Object && frame.RootElement.TryGetProperty("kind", out var kind) ? kind.GetString() : null;

    private static string ClosedBecause(ClientWebSocket socket) => socket.CloseStatus is { } status
        ? $" (the server closed the socket: {(int)status} {socket.CloseStatusDescription})"
        : "";

    /// <summary>Answers the server's close, or starts one; never waits long on a server that is gone.</summary>
    private static async Task CloseAsync(ClientWebSocket socket)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
    }
}
