using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
using Cluster.Grains;
using Cluster.Grains.Devices;
using Cluster.Grains.Observability;
using Cluster.Silo.Authentication;
using Cluster.Silo.Hosting;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Messaging;

/// <summary>
/// <c>GET /v1/websocket</c>: attaches a device's socket to its device grain (as a grain observer: the grain pushes
/// frames to this silo one-way and never waits on a socket; acks go back as grain calls), and closes every socket with
/// 1001 when the silo shuts down so that clients reconnect to another silo. With socket placement, each attach call
/// names this silo, so that the grain is placed, or moves, here (<see cref="SocketPlacement"/>).
/// A socket the server closes is gone within <see cref="DeviceSocketOptions.CloseTimeout"/> whatever the client does: if
/// the close handshake has not finished by then, the connection is dropped and its <c>MaxSockets</c> slot freed. From the
/// moment a close is asked for, the socket neither attaches nor acks again; and the grain attaches only a socket
/// authenticated as the device's current incarnation. Request frames (sends over the socket) are
/// <see cref="SocketRequests"/>'s, which bounds them per socket; a socket's slot is held until its requests are answered.
/// </summary>
internal sealed partial class DeviceSockets(
    IGrainFactory grains,
    ObserverReferences observers,
    ClusterHostOptions options,
    IOptions<DeviceSocketOptions> socketOptions,
    ConnectionCapacity capacity,
    ILocalSiloDetails silo,
    SocketRequests requests,
    ILogger<DeviceSockets> logger)
{
    /// <summary>The largest client frame read (<see cref="SocketRequests.MaxFrameBytes"/>); a larger one closes the socket with 1009.</summary>
    private readonly int maxClientFrameBytes = requests.MaxFrameBytes;

    /// <summary>The pooled buffer a client frame is first read into; a larger frame moves to a larger one.</summary>
    private const int FirstFrameBufferBytes = 16 * 1024;

    /// <summary>Close status: the device was removed (or the socket authenticated as an earlier device under its id).</summary>
    private const int RemovedStatus = 4401;

    /// <summary>Close status: the device connected again elsewhere.</summary>
    private const int ReplacedStatus = 4409;

    /// <summary>
    /// Tries of one attach or attachment check before the socket is closed for the client to reconnect, 1, 2, 4 and 8 s apart: long
    /// enough for the cluster to declare a killed silo dead with default failure detection, so that the grain comes back
    /// elsewhere and the socket attaches to it without the client reconnecting.
    /// </summary>
    private const int CheckAttempts = 5;

    private static readonly TimeSpan FirstCheckRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// After a silo is declared dead, sockets wait at least this before checking their grain, so that this silo's
    /// grain locations have dropped the dead silo and the check reaches a new activation rather than the dead one.
    /// </summary>
    private static readonly TimeSpan DeathCheckDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>The checks after a silo's death are spread over up to this many seconds per this many sockets (at least 1 s, at most 10 s).</summary>
    private const double DeathChecksPerSecond = 5000;

    /// <summary>How often a socket checks that its grain still knows it (a grain reactivated elsewhere does not).</summary>
    private readonly TimeSpan keepAliveInterval = TimeSpan.FromSeconds(options.SocketKeepAliveSeconds);

    private readonly int maxSockets = capacity.MaxSockets;

    private readonly DeviceSocketOptions limits = socketOptions.Value;

    // Sockets taken, counted before the upgrade so that a burst cannot overshoot the cap.
    private int taken;

    private readonly SiloAddress? socketSilo = options.DevicePlacementMode == DevicePlacementMode.Socket ? silo.SiloAddress : null;
    private readonly ConcurrentDictionary<DeviceSocketConnection, byte> open = new();
    private readonly TaskCompletionSource allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool shuttingDown;

    public async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ApiErrorHandling.Error(StatusCodes.Status400BadRequest, "websocket_required", "this endpoint takes a WebSocket upgrade").ExecuteAsync(context);
            return;
        }

        if (shuttingDown)
        {
            await ApiErrorHandling.Error(StatusCodes.Status503ServiceUnavailable, "shutting_down", "this silo is shutting down; connect again").ExecuteAsync(context);
            return;
        }

        if (Interlocked.Increment(ref taken) > maxSockets)
        {
            Interlocked.Decrement(ref taken);
            ClusterMetrics.SocketRefused();
            context.Response.Headers.RetryAfter = "5";
            await ApiErrorHandling.Error(StatusCodes.Status503ServiceUnavailable, "at_capacity", $"this silo holds its maximum of {maxSockets} device sockets; connect to another silo").ExecuteAsync(context);
            return;
        }

        var slot = new Slot(this);
        try
        {
            await ServeAsync(context, slot);
        }
        finally
        {
            slot.Release();
        }
    }

    /// <summary>The device sockets open on this silo for <paramref name="device"/> (<c>accountId.deviceId</c>).</summary>
    internal IReadOnlyList<DeviceSocketConnection> SocketsOf(string device) => [.. open.Keys.Where(c => c.Device == device)];

    /// <summary>The most device sockets this silo holds at once (<c>Cluster:MaxSockets</c>, or derived from the open-file limit).</summary>
    public int MaxSockets => maxSockets;

    private async Task ServeAsync(HttpContext context, Slot slot)
    {
        var device = context.Device();
        var incarnation = device.Credential.Incarnation;
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new DeviceSocketConnection(socket, device.Address.GrainKey, incarnation, limits, OnClosing, () => Abort(context, socket));
        var reference = grains.CreateObjectReference<IDeviceConnection>(connection);
        var grain = grains.Get<IDeviceGrain>(device.Address.GrainKey);
        var connectionId = Guid.NewGuid();
        var acceptedAt = TimeProvider.System.GetUtcNow().UtcTicks;
        var attach = new Attach(grain, reference, connection, connectionId, acceptedAt, incarnation);
        var session = requests.Open(connection, device.Address, incarnation);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        open.TryAdd(connection, 0);
        ClusterMetrics.SocketsOpen.Add(1);
        try
        {
            var attached = SocketAttachment.Refused;
            try
            {
                // Retried while the grain is out of reach (its silo died and is not declared dead yet, the database
                // restarts): the client waits for its backlog rather than reconnect over and over meanwhile.
                await WithRetriesAsync(async () => attached = await AttachAsync(attach), stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                LogAttachFailed(ex);
                await connection.CloseAsync((int)WebSocketCloseStatus.InternalServerError, "reconnect");
            }

            // A refused or replaced socket was told to close by its grain; it still gets its close frame, with the deadline.
            var writer = connection.RunWriterAsync(stop.Token);
            var keepAlive = attached == SocketAttachment.Attached ? KeepAliveAsync(attach, stop.Token) : Task.CompletedTask;
            var reader = ReadAsync(socket, attach, session, maxClientFrameBytes, stop.Token);
            var deadline = connection.CloseDeadlineAsync(stop.Token);
            if (await Task.WhenAny(reader, deadline) == deadline && await deadline)
            {
                // The server closed the socket and the client has not finished the handshake (or not read its close):
                // drop the connection, which also frees its slot.
                Abort(context, socket);
            }

            await reader;

            // Requests under way finish (their envelopes are stored or not, as for an HTTP client gone mid-request) before
            // the socket's slot is given back, so that reconnecting cannot pile up requests without bound.
            await session.WhenIdleAsync();
            if (socket.State == WebSocketState.CloseReceived)
            {
                await connection.CloseAsync((int)WebSocketCloseStatus.NormalClosure, "");
            }

            // Let the writer finish what is queued (a close frame above all), but not wait on a client that is gone.
            connection.Complete();
            if (await Task.WhenAny(writer, Task.Delay(limits.CloseTimeout, CancellationToken.None)) != writer)
            {
                Abort(context, socket);
            }

            await stop.CancelAsync();
            await Task.WhenAll(writer, keepAlive);
        }
        finally
        {
            connection.Release();
            open.TryRemove(connection, out _);
            ClusterMetrics.SocketsOpen.Add(-1);
            slot.Release();
            if (shuttingDown && open.IsEmpty)
            {
                allClosed.TrySetResult();
            }

            // Detach first, then drop the observer, later: pushes the grain made before it heard of the close still find
            // the observer (and go nowhere), rather than reach an unknown one, which Orleans logs as an error.
            try
            {
                await grain.DisconnectAsync(connectionId);
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                LogDetachFailed(ex);
            }
            finally
            {
                observers.DeleteLater(reference);
            }
        }
    }

    private static void Abort(HttpContext context, WebSocket socket)
    {
        ClusterMetrics.SocketsAborted.Add(1);
        socket.Abort();
        context.Abort();
    }

    /// <summary>
    /// A socket was told to close. With 4401 (its device was removed, or the socket authenticated as an earlier device
    /// under a reused id), every other socket on this silo authenticated as the same device incarnation goes too.
    /// </summary>
    private void OnClosing(DeviceSocketConnection closing, int status)
    {
        if (status != RemovedStatus)
        {
            return;
        }

        foreach (var other in open.Keys)
        {
            if (other != closing && other.Device == closing.Device && other.Incarnation == closing.Incarnation && !other.IsClosing)
            {
                _ = other.CloseAsync(RemovedStatus, "device removed");
            }
        }
    }

    /// <summary>
    /// A silo was declared dead: the grains it held are gone, along with the sockets they knew. Every socket here checks
    /// its grain soon, spread out so that the checks do not arrive at once, and attaches again where the grain lost it.
    /// </summary>
    public int CheckAllSoon()
    {
        var count = open.Count;
        var spread = Math.Clamp(count / DeathChecksPerSecond, 1, 10);
        foreach (var connection in open.Keys)
        {
            connection.CheckSoon(DeathCheckDelay + TimeSpan.FromSeconds(Random.Shared.NextDouble() * spread));
        }

        return count;
    }

    /// <summary>Closes every socket with 1001 (going away); called when the silo begins to shut down.</summary>
    public async Task CloseAllAsync(TimeSpan wait)
    {
        shuttingDown = true;
        foreach (var connection in open.Keys)
        {
            await connection.CloseAsync((int)WebSocketCloseStatus.EndpointUnavailable, "server shutting down");
        }

        if (open.IsEmpty)
        {
            return;
        }

        try
        {
            await allClosed.Task.WaitAsync(wait);
        }
        catch (TimeoutException)
        {
            // Clients that have not finished the close handshake by now are cut off (each socket's own deadline, if
            // longer than the wait, would otherwise hold up the stop).
            foreach (var connection in open.Keys)
            {
                connection.Abort();
            }
        }
    }

    /// <summary>Attaches the socket to its grain; never once a close has been asked for.</summary>
    private async Task<SocketAttachment> AttachAsync(Attach attach)
    {
        if (attach.Connection.IsClosing)
        {
            return SocketAttachment.Refused;
        }

        if (socketSilo is null)
        {
            return await attach.Grain.ConnectAsync(attach.Reference, attach.ConnectionId, attach.AcceptedAt, attach.Incarnation);
        }

        // Only the attach call carries it: it is what places or moves the grain.
        RequestContext.Set(SocketPlacement.SocketSiloKey, socketSilo);
        try
        {
            return await attach.Grain.ConnectAsync(attach.Reference, attach.ConnectionId, attach.AcceptedAt, attach.Incarnation);
        }
        finally
        {
            RequestContext.Remove(SocketPlacement.SocketSiloKey);
        }
    }

    private static async Task ReadAsync(WebSocket socket, Attach attach, SocketRequests.Session requests, int maxFrameBytes, CancellationToken cancellationToken)
    {
        var connection = attach.Connection;
        try
        {
            while (true)
            {
                // Wait for the next frame without a buffer, so that an idle socket holds none (it was 64 KiB of each
                // connected device's memory, issue 16); a pooled one is rented only while a frame is read.
                var next = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
                if (next.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var frame = await ReadFrameAsync(socket, connection, empty: next.EndOfMessage, maxFrameBytes, cancellationToken);
                if (frame.SocketClosed)
                {
                    return;
                }

                if (connection.IsClosing)
                {
                    // Closed by the server: the client's frames mean nothing any more (its acks least of all), and the
                    // loop only waits for its close frame, until the deadline.
                    continue;
                }

                if (frame.Refusal is { } refusal)
                {
                    // A request that cannot be one: answered, and the socket stays open.
                    connection.Answer(refusal);
                    continue;
                }

                if (frame.Frame is not { } parsed)
                {
                    await connection.CloseAsync((int)WebSocketCloseStatus.InvalidPayloadData, "frames must be JSON {\"kind\":\"ack\",\"ids\":[...]}");
                    return;
                }

                if (parsed.Kind == "ack" && parsed.Ids is { Count: > 0 } ids)
                {
                    await AckAsync(attach, ids);
                }
                else if (parsed.Kind == "request")
                {
                    requests.Accept(parsed, frame.Length);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The client went away, or the connection was dropped.
        }
    }

    /// <summary>
    /// Reads one client frame (of at most <paramref name="maxFrameBytes"/>) into a pooled buffer, a larger one only as the
    /// frame grows, and parses it; the buffer goes back to the pool before this returns. <paramref name="empty"/>: the frame
    /// had no payload at all.
    /// </summary>
    private static async Task<FrameRead> ReadFrameAsync(
        WebSocket socket, DeviceSocketConnection connection, bool empty, int maxFrameBytes, CancellationToken cancellationToken)
    {
        if (empty)
        {
            return new FrameRead(null);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(FirstFrameBufferBytes, maxFrameBytes));
        connection.ReadBufferRented(buffer.Length);
        try
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == maxFrameBytes)
                {
                    await connection.CloseAsync((int)WebSocketCloseStatus.MessageTooBig, "frame too large");
                    return FrameRead.Closed;
                }

                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxFrameBytes));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    connection.ReadBufferRented(larger.Length - buffer.Length);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                result = await socket.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, maxFrameBytes) - length), cancellationToken);
                length += result.Count;
            }
            while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

            return result.MessageType == WebSocketMessageType.Close ? FrameRead.Closed : Parse(buffer.AsSpan(0, length));
        }
        finally
        {
            connection.ReadBufferRented(-buffer.Length);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A client frame as read: parsed (<see cref="Frame"/> null when it is not a valid frame), with its <see cref="Length"/>
    /// in bytes; or the answer to a request frame that could not be parsed (<see cref="Refusal"/>); or the socket closed.
    /// </summary>
    private readonly record struct FrameRead(SocketClientFrame? Frame, bool SocketClosed = false, int Length = 0, byte[]? Refusal = null)
    {
        public static FrameRead Closed => new(null, SocketClosed: true);
    }

    private static async Task AckAsync(Attach attach, IReadOnlyList<Guid> ids)
    {
        try
        {
            switch (await attach.Grain.SocketAckAsync(attach.ConnectionId, ids))
            {
                case SocketAttachment.Detached:
                    // The grain lost this socket (reactivated after its silo died): nothing was acked. Attach again,
                    // which sends the envelopes again; the client acks them again.
                    attach.Connection.AttachAgainAfterFailedAck();
                    break;
                case SocketAttachment.Replaced:
                    // Another socket of the device is attached: this one's acks would delete what that one is sent.
                    await attach.Connection.CloseAsync(ReplacedStatus, "connected elsewhere");
                    break;
            }
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // The ack was not applied (the grain's silo died, or the database is unreachable): the envelopes
            // stay stored, and the grain would send them again only on the next attach. Attach again now
            // (retried while the grain or the database is out of reach, then the socket is closed).
            attach.Connection.AttachAgainAfterFailedAck();
        }
    }

    private static FrameRead Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return new FrameRead(JsonSerializer.Deserialize(json, ProtocolJson.Default.SocketClientFrame), Length: json.Length);
        }
        catch (JsonException ex)
        {
            return new FrameRead(null, Refusal: SocketRequests.RefusalOf(json, ex));
        }
    }

    /// <summary>
    /// Keeps the socket attached to its grain: checks the attachment every <see cref="keepAliveInterval"/> and whenever
    /// asked (<see cref="CheckAllSoon"/>, <see cref="IDeviceConnection.DetachedAsync"/>, a failed ack), and attaches again where the
    /// grain no longer has it. A check that fails <see cref="CheckAttempts"/> times closes the socket so that the client
    /// reconnects, rather than leave it waiting in silence. Stops for good once a close is asked for.
    /// </summary>
    private async Task KeepAliveAsync(Attach attach, CancellationToken stop)
    {
        var connection = attach.Connection;
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(stop, connection.Closing);
        var cancellationToken = closing.Token;
        try
        {
            while (true)
            {
                var check = await connection.NextCheckAsync(keepAliveInterval, cancellationToken);
                await Task.Delay(check.Delay, cancellationToken);
                var attached = false;
                await WithRetriesAsync(async () => attached = await CheckAsync(attach, check.AttachAgain), cancellationToken);
                if (!attached)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            LogKeepAliveFailed(ex);
            await connection.CloseAsync((int)WebSocketCloseStatus.InternalServerError, "reconnect");
        }
    }

    /// <summary>
    /// Runs a grain call, and runs it again 1, 2, 4 and 8 s after each transient failure (<see cref="IsTransient"/>); the
    /// last failure is thrown.
    /// </summary>
    private async Task WithRetriesAsync(Func<Task> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception ex) when (IsTransient(ex) && attempt < CheckAttempts)
            {
                LogCheckRetried(ex, attempt);
                await Task.Delay(FirstCheckRetryDelay * (1 << (attempt - 1)), cancellationToken);
            }
        }
    }

    /// <summary>A failure that says the grain or the database is out of reach for now, not that the request was wrong.</summary>
    internal static bool IsTransient(Exception ex) => ex is OrleansException or TimeoutException or System.Data.Common.DbException;

    /// <summary>One check of the attachment; false when the socket has been told to close (replaced, or refused).</summary>
    private async Task<bool> CheckAsync(Attach attach, KeyValuePair<string, object?>? attachAgain)
    {
        if (attach.Connection.IsClosing)
        {
            return false;
        }

        if (attachAgain is { } cause)
        {
            // Attaching (activating the grain anew if it deactivated) starts delivery over: every stored envelope is
            // sent once more, with the same id (the device dedups by envelope id).
            return await ReattachAsync(attach, cause);
        }

        switch (await attach.Grain.PingAsync(attach.ConnectionId))
        {
            case SocketAttachment.Detached:
                // The grain was reactivated (its silo died) and does not know this socket; or the device was removed.
                return await ReattachAsync(attach, ClusterMetrics.GrainLost);
            case SocketAttachment.Replaced:
                // A newer socket of the device is attached; the grain's close to this one may have been lost.
                await attach.Connection.CloseAsync(ReplacedStatus, "connected elsewhere");
                return false;
            default:
                return true;
        }
    }

    /// <summary>Attaches again; false when the grain refused (and closed) the socket, or a close was asked for meanwhile.</summary>
    private async Task<bool> ReattachAsync(Attach attach, KeyValuePair<string, object?> cause)
    {
        if (await AttachAsync(attach) != SocketAttachment.Attached)
        {
            return false;
        }

        ClusterMetrics.SocketsReattached.Add(1, cause);
        return true;
    }

    /// <summary>What a socket attaches with: its grain, its observer and who it authenticated as.</summary>
    private sealed record Attach(
        IDeviceGrain Grain, IDeviceConnection Reference, DeviceSocketConnection Connection, Guid ConnectionId, long AcceptedAt, Guid Incarnation);

    /// <summary>A socket's place under <c>MaxSockets</c>, given back once (when its connection is gone, before the grain is told).</summary>
    private sealed class Slot(DeviceSockets sockets)
    {
        private int released;

        public void Release()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                Interlocked.Decrement(ref sockets.taken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Attaching a device socket to its grain failed; the client is told to reconnect")]
    private partial void LogAttachFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Detaching a closed device socket failed")]
    private partial void LogDetachFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device socket keep-alive failed; the client is told to reconnect")]
    private partial void LogKeepAliveFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Attaching or checking a device socket's grain failed (attempt {Attempt}); trying again")]
    private partial void LogCheckRetried(Exception ex, int attempt);
}
