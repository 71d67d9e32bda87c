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
    private readonly ClientWebSocket socket;

    private ProvisioningSocket(ClientWebSocket socket, string address)
    {
        this.socket = socket;
        Address = address;
    }

    /// <summary>The provisioning address (base64url, 16 random bytes) to put in the QR code.</summary>
    public string Address { get; }

    /// <summary>Opens a provisioning socket and waits for its address.</summary>
    public static async Task<ProvisioningSocket> OpenAsync(Uri gateway, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        var socket = new ClientWebSocket();
        try
        {
            var uri = new UriBuilder(gateway) { Scheme = gateway.Scheme == Uri.UriSchemeHttps ? "wss" : "ws", Path = "/v1/provisioning" }.Uri;
            await socket.ConnectAsync(uri, cancellationToken);
            using var frame = await ReceiveFrameAsync(socket, cancellationToken)
                ?? throw new InvalidOperationException("the provisioning socket closed before it sent an address");
            return frame.RootElement.GetProperty("kind").GetString() == "address"
                ? new ProvisioningSocket(socket, frame.RootElement.GetProperty("address").GetString()!)
                : throw new InvalidOperationException("the provisioning socket's first frame was not an address");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the primary's provisioning body (opaque, client-encrypted); null when the socket closed without one.</summary>
    public async Task<string?> ReceiveBodyAsync(CancellationToken cancellationToken = default)
    {
        while (await ReceiveFrameAsync(socket, cancellationToken) is { } frame)
        {
            using (frame)
            {
                if (frame.RootElement.GetProperty("kind").GetString() == "provision")
                {
                    return frame.RootElement.GetProperty("body").GetString();
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

    private static async Task<JsonDocument?> ReceiveFrameAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var message = new ArrayBufferWriter<byte>(4096);
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(message.GetMemory(4096), cancellationToken);
            message.Advance(result.Count);
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
