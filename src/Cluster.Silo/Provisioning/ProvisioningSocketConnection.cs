using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Cluster.Abstractions.Provisioning;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Provisioning;

/// <summary>
/// One provisioning socket on this silo, and the grain observer its provisioning grain relays the body to. Every write
/// goes through one loop, so the address frame, the provision frame and the close keep their order.
/// </summary>
internal sealed class ProvisioningSocketConnection(WebSocket socket) : IProvisioningSocket
{
    private readonly Channel<Outbound> outbound = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = true });

    public void SendAddress(string address) =>
        outbound.Writer.TryWrite(new Outbound(
            JsonSerializer.SerializeToUtf8Bytes(new ProvisioningAddressFrame("address", address), ProtocolJson.Default.ProvisioningAddressFrame),
            null,
            null));

    public Task ProvisionAsync(string body)
    {
        outbound.Writer.TryWrite(new Outbound(
            JsonSerializer.SerializeToUtf8Bytes(new ProvisionFrame("provision", body), ProtocolJson.Default.ProvisionFrame),
            null,
            null));
        Close(WebSocketCloseStatus.NormalClosure, "provisioned");
        return Task.CompletedTask;
    }

    public void Close(WebSocketCloseStatus status, string reason) => outbound.Writer.TryWrite(new Outbound(null, status, reason));

    /// <summary>Writes frames until a close has been sent, the socket fails, or <see cref="Complete"/> drains the queue.</summary>
    public async Task RunWriterAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var item in outbound.Reader.ReadAllAsync(cancellationToken))
            {
                if (item.CloseStatus is { } status)
                {
                    await socket.CloseOutputAsync(status, item.CloseReason, cancellationToken);
                    return;
                }

                await socket.SendAsync(item.Frame!, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away; the reader loop sees it too.
        }
    }

    /// <summary>No more frames: the handler is done with this socket.</summary>
    public void Complete() => outbound.Writer.TryComplete();

    private sealed record Outbound(byte[]? Frame, WebSocketCloseStatus? CloseStatus, string? CloseReason);
}
