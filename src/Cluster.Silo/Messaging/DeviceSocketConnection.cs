using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Observability;

namespace Cluster.Silo.Messaging;

/// <summary>
/// One device socket on this silo, and the grain observer its device grain pushes frames to. Every write to the
/// socket goes through one loop, so frames keep their order and never interleave.
/// The frames waiting for that loop are bounded (<see cref="DeviceSocketOptions.MaxOutboundBytes"/> and
/// <see cref="DeviceSocketOptions.MaxOutboundFrames"/>): past the bound, best-effort frames are dropped and make room for
/// stored envelopes, a stored envelope that still finds no room closes the socket with 4408 (it stays in the inbox and
/// comes again on the next connection), and so does a buffer that stays full for <see cref="DeviceSocketOptions.SlowCloseAfter"/>.
/// The answers to the device's own requests (<see cref="Answer"/>) queue here too and are never dropped, like stored envelopes.
/// Once a close is asked for, nothing more is sent but the close frame, and nothing is kept of what was queued.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The CancellationTokenSource has no timer; it is never disposed so that a late close from the grain can still cancel it")]
internal sealed class DeviceSocketConnection : IDeviceConnection
{
    /// <summary>The close status of a socket whose device does not read fast enough.</summary>
    public const int TooSlowStatus = 4408;

    private static readonly byte[] EnvelopeStart = "{\"kind\":\"envelope\",\"envelope\":"u8.ToArray();
    private static readonly byte[] EventStart = "{\"kind\":\"event\",\"event\":"u8.ToArray();
    private static readonly byte[] End = "}"u8.ToArray();
    private static readonly byte[] QueueEmpty = "{\"kind\":\"queueEmpty\"}"u8.ToArray();

    private static readonly KeyValuePair<string, object?> DroppedEnvelope = new("kind", "envelope");
    private static readonly KeyValuePair<string, object?> DroppedEvent = new("kind", "event");

    private readonly WebSocket socket;
    private readonly DeviceSocketOptions options;
    private readonly Action<DeviceSocketConnection, int> closing;
    private readonly Action abort;

    private readonly Lock gate = new();
    private readonly LinkedList<Outbound> queued = new();

    // Set whenever something is queued or a close is asked for; the writer waits on it when it has nothing to do.
    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    // Checks of the grain attachment asked for between keep-alive ticks; a few at most, the rest are redundant.
    private readonly Channel<AttachmentCheck> checks = Channel.CreateBounded<AttachmentCheck>(
        new BoundedChannelOptions(2) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly CancellationTokenSource closeRequested = new();

    // Bytes and frames buffered, counting the frame being written until its write completes.
    private long bytes;
    private int frames;
    private long peakBytes;
    private long dropped;

    // Bytes of pooled read buffer held while a client frame is read, 0 between frames: changed by ReadBufferRented only.
    private long readBufferBytes;
    private ITimer? slowTimer;
    private WebSocketCloseStatus? closeStatus;
    private string? closeReason;
    private bool completed;
    private bool released;

    /// <param name="socket">The accepted WebSocket.</param>
    /// <param name="device">The device address (<c>accountId.deviceId</c>) the socket authenticated as.</param>
    /// <param name="incarnation">The incarnation of the device it authenticated as.</param>
    /// <param name="options">The buffer bounds.</param>
    /// <param name="closing">Told once, when a close is first asked for, with its status.</param>
    /// <param name="abort">Drops the connection at once.</param>
    public DeviceSocketConnection(
        WebSocket socket, string device, Guid incarnation, DeviceSocketOptions options, Action<DeviceSocketConnection, int> closing, Action abort)
    {
        this.socket = socket;
        this.abort = abort;
        this.options = options;
        this.closing = closing;
        Device = device;
        Incarnation = incarnation;
    }

    public string Device { get; }

    public Guid Incarnation { get; }

    /// <summary>Cancelled once a close is asked for: from then on the socket never attaches or acks again.</summary>
    public CancellationToken Closing => closeRequested.Token;

    public bool IsClosing => closeRequested.IsCancellationRequested;

    /// <summary>The status of the close asked for, if one was.</summary>
    public int? CloseStatus
    {
        get
        {
            lock (gate)
            {
                return (int?)closeStatus;
            }
        }
    }

    /// <summary>Bytes buffered now.</summary>
    public long BufferedBytes => Interlocked.Read(ref bytes);

    /// <summary>The most bytes ever buffered at once by this socket.</summary>
    public long PeakBufferedBytes => Interlocked.Read(ref peakBytes);

    /// <summary>Frames this socket dropped because its device did not read fast enough.</summary>
    public long DroppedFrames => Interlocked.Read(ref dropped);

    /// <summary>
    /// Bytes of read buffer this socket holds now: a pooled buffer while a client frame is being read, none while the
    /// socket waits for its next frame (an idle socket holds no buffer).
    /// </summary>
    public long ReadBufferBytes => Interlocked.Read(ref readBufferBytes);

    /// <summary>The reader rented (positive) or gave back (negative) <paramref name="bytes"/> of read buffer.</summary>
    public void ReadBufferRented(int bytes) => Interlocked.Add(ref readBufferBytes, bytes);

    public Task SendAsync(IReadOnlyList<DeviceFrame> frames)
    {
        var tooSlow = false;
        lock (gate)
        {
            foreach (var frame in frames)
            {
                if (!Offer(frame))
                {
                    tooSlow = true;
                    break;
                }
            }
        }

        if (tooSlow)
        {
            CloseTooSlow();
        }

        wake.Writer.TryWrite(true);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Queues the answer to a request the device made over this socket (a whole frame). Never dropped, like a stored
    /// envelope: one that finds no room closes the socket with 4408, so that a device that sends requests without reading
    /// the answers cannot make the silo hold them.
    /// </summary>
    public void Answer(byte[] frame) => _ = SendAsync([new DeviceFrame(FrameKind.Answer, frame)]);

    public Task CloseAsync(int status, string reason)
    {
        lock (gate)
        {
            if (closeStatus is not null || released)
            {
                return Task.CompletedTask;
            }

            closeStatus = (WebSocketCloseStatus)status;
            closeReason = reason;

            // Nothing queued goes out any more: stored envelopes stay in the inbox, the rest was best-effort.
            ClearQueued();
            slowTimer?.Dispose();
        }

        closeRequested.Cancel();
        wake.Writer.TryWrite(true);
        closing(this, status);
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

    /// <summary>
    /// Completes (true) <see cref="DeviceSocketOptions.CloseTimeout"/> after a close was asked for: the close handshake has
    /// had its time. Completes false if <paramref name="cancellationToken"/> ends first.
    /// </summary>
    public async Task<bool> CloseDeadlineAsync(CancellationToken cancellationToken)
    {
        try
        {
            using (var either = CancellationTokenSource.CreateLinkedTokenSource(Closing, cancellationToken))
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, either.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            cancellationToken.ThrowIfCancellationRequested();
            await Task.Delay(options.CloseTimeout, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Writes frames until the socket closes or a close is asked for (then writes the close frame).</summary>
    public async Task RunWriterAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                Outbound? next = null;
                WebSocketCloseStatus? close;
                string? reason;
                lock (gate)
                {
                    (close, reason) = (closeStatus, closeReason);
                    if (close is null && queued.First is { } first)
                    {
                        next = first.Value;
                        queued.RemoveFirst();
                    }
                    else if (close is null && completed)
                    {
                        return;
                    }
                }

                if (close is { } status)
                {
                    await socket.CloseOutputAsync(status, reason, cancellationToken);
                    return;
                }

                if (next is { } item)
                {
                    try
                    {
                        await WriteFrameAsync(item.Frame, cancellationToken);
                    }
                    finally
                    {
                        Written(item.Size);
                    }

                    continue;
                }

                await wake.Reader.WaitToReadAsync(cancellationToken);
                wake.Reader.TryRead(out _);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // The client went away; the reader loop sees it too and detaches the device.
        }
    }

    /// <summary>Drops the connection without a close handshake.</summary>
    public void Abort() => abort();

    /// <summary>No more frames: the handler is done with this socket.</summary>
    public void Complete()
    {
        lock (gate)
        {
            completed = true;
        }

        wake.Writer.TryWrite(true);
    }

    /// <summary>The socket is gone: forgets whatever is still buffered (and its share of the silo's buffered-bytes gauge).</summary>
    public void Release()
    {
        lock (gate)
        {
            if (released)
            {
                return;
            }

            released = true;
            completed = true;
            ClearQueued();
            slowTimer?.Dispose();
            ClusterMetrics.AddSocketOutboundBytes(-bytes);
            bytes = 0;
            frames = 0;
        }
    }

    /// <summary>Queues a frame if the bounds allow (making room by dropping best-effort frames); false: it does not fit, the socket must close.</summary>
    private bool Offer(DeviceFrame frame)
    {
        if (closeStatus is not null || released)
        {
            return true;
        }

        var size = SizeOf(frame);
        if (Fits(size) || (!frame.Droppable && frames == 0))
        {
            Enqueue(frame, size);
            return true;
        }

        Congested();
        if (frame.Droppable)
        {
            Dropped(frame);
            return true;
        }

        // A stored envelope (or queueEmpty) must not be lost on a connection that stays open: best-effort frames make room.
        for (var node = queued.First; node is not null && !Fits(size);)
        {
            var next = node.Next;
            if (node.Value.Frame.Droppable)
            {
                queued.Remove(node);
                Unbuffer(node.Value.Size);
                Dropped(node.Value.Frame);
            }

            node = next;
        }

        if (Fits(size))
        {
            Enqueue(frame, size);
            return true;
        }

        return false;
    }

    private bool Fits(int size) => frames < options.MaxOutboundFrames && bytes + size <= options.MaxOutboundBytes;

    private void Enqueue(DeviceFrame frame, int size)
    {
        queued.AddLast(new Outbound(frame, size));
        frames++;
        Interlocked.Add(ref bytes, size);
        ClusterMetrics.AddSocketOutboundBytes(size);
        if (bytes > peakBytes)
        {
            Interlocked.Exchange(ref peakBytes, bytes);
        }
    }

    private void Unbuffer(int size)
    {
        frames--;
        Interlocked.Add(ref bytes, -size);
        ClusterMetrics.AddSocketOutboundBytes(-size);
    }

    private void Dropped(DeviceFrame frame)
    {
        Interlocked.Increment(ref dropped);
        ClusterMetrics.SocketFramesDropped.Add(1, frame.Kind == FrameKind.Envelope ? DroppedEnvelope : DroppedEvent);
    }

    private void ClearQueued()
    {
        foreach (var item in queued)
        {
            Unbuffer(item.Size);
        }

        queued.Clear();
    }

    /// <summary>The buffer is full: unless it empties within <see cref="DeviceSocketOptions.SlowCloseAfter"/>, the socket closes.</summary>
    private void Congested() => slowTimer ??= TimeProvider.System.CreateTimer(_ => CloseTooSlow(), null, options.SlowCloseAfter, Timeout.InfiniteTimeSpan);

    private void Written(int size)
    {
        lock (gate)
        {
            if (released)
            {
                return;
            }

            Unbuffer(size);
            if (frames == 0 && slowTimer is not null)
            {
                // It caught up: the next congestion starts a new count.
                slowTimer.Dispose();
                slowTimer = null;
            }
        }
    }

    private void CloseTooSlow()
    {
        if (IsClosing)
        {
            return;
        }

        ClusterMetrics.SocketsClosedSlow.Add(1);
        _ = CloseAsync(TooSlowStatus, "too slow");
    }

    private static int SizeOf(DeviceFrame frame) => frame.Kind switch
    {
        FrameKind.QueueEmpty => QueueEmpty.Length,
        FrameKind.Answer => frame.Payload!.Length,
        FrameKind.Envelope => EnvelopeStart.Length + (frame.Payload?.Length ?? 0) + End.Length,
        _ => EventStart.Length + (frame.Payload?.Length ?? 0) + End.Length,
    };

    private async ValueTask WriteFrameAsync(DeviceFrame frame, CancellationToken cancellationToken)
    {
        switch (frame.Kind)
        {
            case FrameKind.QueueEmpty:
                await socket.SendAsync(QueueEmpty, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                break;
            case FrameKind.Answer:
                await socket.SendAsync(frame.Payload!, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                break;
            default:
                // The payload is JSON already: the frame is copied around it into one pooled buffer and written as one
                // WebSocket frame (three fragments cost three writes through the socket's pipe, each dearer than the copy).
                var start = frame.Kind == FrameKind.Envelope ? EnvelopeStart : EventStart;
                var payload = frame.Payload!;
                var length = start.Length + payload.Length + End.Length;
                var buffer = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    start.CopyTo(buffer, 0);
                    payload.CopyTo(buffer, start.Length);
                    End.CopyTo(buffer, start.Length + payload.Length);
                    await socket.SendAsync(buffer.AsMemory(0, length), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

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

    private readonly record struct Outbound(DeviceFrame Frame, int Size);
}
