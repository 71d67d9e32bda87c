using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;

namespace Cluster.Client.Provisioning;

/// <summary>
/// The new device's side of linking (<c>GET /v1/provisioning</c>, unauthenticated): the server gives it an address to
/// show in a QR code, then relays the body the primary sends to that address and closes. The socket closes by itself
/// after 10 minutes.
/// </summary>
public sealed class ProvisioningSocket : IAsyncDisposable
{
    /// <summary>The largest frame accepted, in bytes. A provisioning body is at most 256 KiB; its frame, with JSON escapes, stays well below this.</summary>
    public const int MaxFrameBytes = 4 * 1024 * 1024;

    private readonly ClientWebSocket socket;

    private ProvisioningSocket(ClientWebSocket socket, string address)
    {
        this.socket = socket;
        Address = address;
    }

    /// <summary>The provisioning address (base64url, 16 random bytes) to put in the QR code.</summary>
    public string Address { get; }

    /// <summary>The status the server closed the socket with, once it has.</summary>
    public WebSocketCloseStatus? CloseStatus => socket.CloseStatus;

    /// <summary>The reason the server gave with <see cref="CloseStatus"/>, e.g. <c>provisioning address expired</c>.</summary>
    public string? CloseStatusDescription => socket.CloseStatusDescription;

    /// <summary><c>http://host/base</c> becomes <c>ws://host/base/v1/provisioning</c> (<c>https</c> becomes <c>wss</c>).</summary>
    public static Uri SocketUri(Uri gateway)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        var builder = new UriBuilder(gateway) { Scheme = gateway.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        builder.Path = builder.Path.TrimEnd('/') + "/v1/provisioning";
        return builder.Uri;
    }

    /// <summary>Opens a provisioning socket at <see cref="SocketUri"/> and waits for its address.</summary>
    /// <exception cref="WebSocketException">The socket could not be opened, or failed.</exception>
    /// <exception cref="ProvisioningSocketException">The server closed the socket, or sent something else, before an address.</exception>
    /// <exception cref="JsonException">The server sent a frame that is not JSON.</exception>
    public static async Task<ProvisioningSocket> OpenAsync(Uri gateway, CancellationToken cancellationToken = default)
    {
        var uri = SocketUri(gateway);
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(uri, cancellationToken);
            using var frame = await ReceiveFrameAsync(socket, cancellationToken);
            if (frame is null || Kind(frame) != "address" || !frame.RootElement.TryGetProperty("address", out var address)
                || address.ValueKind != JsonValueKind.String || address.GetString() is not { Length: > 0 } value)
            {
                throw new ProvisioningSocketException("the server did not send a provisioning address", socket.CloseStatus, socket.CloseStatusDescription);
            }

            return new ProvisioningSocket(socket, value);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for the primary's provisioning body (opaque, client-encrypted); null when the socket closed without one
    /// (<see cref="CloseStatus"/> says why).
    /// </summary>
    /// <exception cref="WebSocketException">The socket failed.</exception>
    /// <exception cref="ProvisioningSocketException">A provisioning frame came without a body.</exception>
    /// <exception cref="JsonException">The server sent a frame that is not JSON.</exception>
    public async Task<string?> ReceiveBodyAsync(CancellationToken cancellationToken = default)
    {
        while (await ReceiveFrameAsync(socket, cancellationToken) is { } frame)
        {
            using (frame)
            {
                if (Kind(frame) == "provision")
                {
                    return frame.RootElement.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.String
                        ? body.GetString()
                        : throw new ProvisioningSocketException("the provisioning message has no body", socket.CloseStatus, socket.CloseStatusDescription);
                }
            }
        }

        return null;
    }

    /// <summary>Closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }

        socket.Dispose();
    }

    private static string? Kind(JsonDocument frame) =>
        frame.RootElement.ValueKind == JsonValueKind.Object && frame.RootElement.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String
            ? kind.GetString()
            : null;

    private static async Task<JsonDocument?> ReceiveFrameAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var message = new ArrayBufferWriter<byte>(4096);
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(message.GetMemory(4096), cancellationToken);
            message.Advance(result.Count);
            if (message.WrittenCount > MaxFrameBytes)
            {
                throw new WebSocketException($"a frame of more than {MaxFrameBytes} bytes");
            }
        }
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

        if (result.MessageType == WebSocketMessageType.Close)
        {
            if (socket.State == WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
            }

            return null;
        }

        return JsonDocument.Parse(message.WrittenMemory);
    }
}

/// <summary>The provisioning socket did not follow the protocol: closed before an address, or a message without a body.</summary>
public sealed class ProvisioningSocketException : InvalidOperationException
{
    /// <summary>Creates the exception, with the server's close when it closed the socket.</summary>
    public ProvisioningSocketException(string message, WebSocketCloseStatus? closeStatus, string? closeStatusDescription)
        : base(message)
    {
        CloseStatus = closeStatus;
        CloseStatusDescription = closeStatusDescription;
    }

    /// <summary>The status the server closed the socket with, if it did.</summary>
    public WebSocketCloseStatus? CloseStatus { get; }

    /// <summary>The reason the server gave with <see cref="CloseStatus"/>.</summary>
    public string? CloseStatusDescription { get; }
}
