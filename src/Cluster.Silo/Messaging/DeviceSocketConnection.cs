using System.Net.WebSockets;
using System.Threading.Channels;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Observability;

namespace Cluster.Silo.Messaging;

/// <summary>
/// One device socket on this silo, and the grain observer its device grain pushes frames to. Every write to the
/// socket goes through one loop, so frames keep their order and never interleave.
/// </summary>
internal sealed class DeviceSocketConnection(WebSocket socket) : IDeviceConnection
{
    private static readonly byte[] EnvelopeStart = "{\"kind\":\"envelope\",\"envelope\":"u8.ToArray();
    private static readonly byte[] EventStart = "{\"kind\":\"event\",\"event\":"u8.ToArray();
    private static readonly byte[] End = "}"u8.ToArray();
    private static readonly byte[] QueueEmpty = "{\"kind\":\"queueEmpty\"}"u8.ToArray();

    private readonly Channel<Outbound> outbound = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = true });

    // Checks of the grain attachment asked for between keep-alive ticks; a few at most, the rest are redundant.
    private readonly Channel<AttachmentCheck> checks = Channel.CreateBounded<AttachmentCheck>(
        new BoundedChannelOptions(2) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    public Task SendAsync(IReadOnlyList<DeviceFrame> frames)
    {
        outbound.Writer.TryWrite(new Outbound(frames, null, null));
        return Task.CompletedTask;
    }

    public Task CloseAsync(int status, string reason)
    {
        outbound.Writer.TryWrite(new Outbound(null, (WebSocketCloseStatus)status, reason));
        return Task.CompletedTask;
    }

    public Task DetachedAsync()
    {
        checks.Writer.TryWrite(AttachmentCheck.GrainDeactivated);
        return Task.CompletedTask;
    }

    /// <summary>Asks the keep-alive loop to check the attachment after <paramref name="delay"/> rather than at its next tick.</summary>
    public void CheckSoon(TimeSpan delay) => checks.Writer.TryWrite(new AttachmentCheck(delay, null));

    /// <summary>An ack could not be applied: attach again, so that what it acked comes again now rather than on the next connection.</summary>
    public void AttachAgainAfterFailedAck() => checks.Writer.TryWrite(AttachmentCheck.AckFailed);

    /// <summary>The next check to make: one asked for, or a periodic one once <paramref name="interval"/> has passed without.</summary>
    public async Task<AttachmentCheck> NextCheckAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        tick.CancelAfter(interval);
        try
        {
            return await checks.Reader.ReadAsync(tick.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return AttachmentCheck.Periodic;
        }
    }

    /// <summary>Writes frames until the socket closes or a close is asked for.</summary>
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

                foreach (var frame in item.Frames!)
                {
                    await WriteFrameAsync(frame, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away; the reader loop sees it too and detaches the device.
        }
    }

    /// <summary>No more frames: the handler is done with this socket.</summary>
    public void Complete() => outbound.Writer.TryComplete();

    private async ValueTask WriteFrameAsync(DeviceFrame frame, CancellationToken cancellationToken)
    {
        switch (frame.Kind)
        {
            case FrameKind.QueueEmpty:
                await socket.SendAsync(QueueEmpty, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                break;
            default:
                // The payload is JSON already: the frame is written around it, without copying it.
                await socket.SendAsync(frame.Kind == FrameKind.Envelope ? EnvelopeStart : EventStart, WebSocketMessageType.Text, endOfMessage: false, cancellationToken);
                await socket.SendAsync(frame.Payload!, WebSocketMessageType.Text, endOfMessage: false, cancellationToken);
                await socket.SendAsync(End, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                break;
        }
    }

    /// <summary>
    /// A check of the socket's attachment to its grain: ping it after <see cref="Delay"/>, or, when
    /// <see cref="AttachAgain"/> names why (a <c>cause</c> label of <see cref="ClusterMetrics.SocketsReattached"/>),
    /// attach again at once.
    /// </summary>
    internal sealed record AttachmentCheck(TimeSpan Delay, KeyValuePair<string, object?>? AttachAgain)
    {
        public static readonly AttachmentCheck Periodic = new(TimeSpan.Zero, null);

        public static readonly AttachmentCheck GrainDeactivated = new(TimeSpan.Zero, ClusterMetrics.GrainDeactivated);

        public static readonly AttachmentCheck AckFailed = new(TimeSpan.Zero, ClusterMetrics.AckFailed);
    }

    private sealed record Outbound(IReadOnlyList<DeviceFrame>? Frames, WebSocketCloseStatus? CloseStatus, string? CloseReason);
}
