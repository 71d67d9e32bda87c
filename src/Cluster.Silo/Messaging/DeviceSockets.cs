using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
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
/// </summary>
internal sealed partial class DeviceSockets(
    IGrainFactory grains, ClusterHostOptions options, ConnectionCapacity capacity, ILocalSiloDetails silo, ILogger<DeviceSockets> logger)
{
    private const int MaxClientFrameBytes = 64 * 1024;

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

    // Sockets taken, counted before the upgrade so that a burst cannot overshoot the cap.
    private int taken;

    private readonly SiloAddress? socketSilo = options.DevicePlacementMode == DevicePlacementMode.Socket ? silo.SiloAddress : null;
    private readonly ConcurrentDictionary<DeviceSocketConnection, byte> open = new();
    private readonly TaskCompletionSource allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool shuttingDown;

    public static void Map(RouteGroupBuilder v1) =>
        v1.Map("/websocket", (HttpContext context, DeviceSockets sockets) => sockets.AcceptAsync(context)).RequireAuthorization();

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

        try
        {
            await ServeAsync(context);
        }
        finally
        {
            Interlocked.Decrement(ref taken);
        }
    }

    /// <summary>The most device sockets this silo holds at once (<c>Cluster:MaxSockets</c>, or derived from the open-file limit).</summary>
    public int MaxSockets => maxSockets;

    private async Task ServeAsync(HttpContext context)
    {
        var device = context.Device();
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new DeviceSocketConnection(socket);
        var reference = grains.CreateObjectReference<IDeviceConnection>(connection);
        var grain = grains.GetGrain<IDeviceGrain>(device.Address.GrainKey);
        var connectionId = Guid.NewGuid();
        var acceptedAt = TimeProvider.System.GetUtcNow().UtcTicks;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        open.TryAdd(connection, 0);
        ClusterMetrics.SocketsOpen.Add(1);
        try
        {
            try
            {
                // Retried while the grain is out of reach (its silo died and is not declared dead yet, the database
                // restarts): the client waits for its backlog rather than reconnect over and over meanwhile.
                await WithRetriesAsync(() => AttachAsync(grain, reference, connectionId, acceptedAt), stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                LogAttachFailed(ex);
                await socket.CloseAsync(WebSocketCloseStatus.InternalServerError, "reconnect", CancellationToken.None);
                return;
            }

            var writer = connection.RunWriterAsync(stop.Token);
            var keepAlive = KeepAliveAsync(grain, reference, connection, connectionId, acceptedAt, stop.Token);
            await ReadAsync(socket, grain, connection, stop.Token);
            if (socket.State == WebSocketState.CloseReceived)
            {
                await connection.CloseAsync((int)WebSocketCloseStatus.NormalClosure, "");
            }

            // Let the writer finish what is queued (a close frame above all), but not wait on a client that is gone.
            connection.Complete();
            await Task.WhenAny(writer, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
            await stop.CancelAsync();
            await Task.WhenAll(writer, keepAlive);
        }
        finally
        {
            open.TryRemove(connection, out _);
            ClusterMetrics.SocketsOpen.Add(-1);
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
                ObserverReferences.DeleteLater(grains, reference);
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
            // Clients that do not finish the close handshake in time are cut off when the server stops.
        }
    }

    private async Task AttachAsync(IDeviceGrain grain, IDeviceConnection reference, Guid connectionId, long acceptedAt)
    {
        if (socketSilo is null)
        {
            await grain.ConnectAsync(reference, connectionId, acceptedAt);
            return;
        }

        // Only the attach call carries it: it is what places or moves the grain.
        RequestContext.Set(SocketPlacement.SocketSiloKey, socketSilo);
        try
        {
            await grain.ConnectAsync(reference, connectionId, acceptedAt);
        }
        finally
        {
            RequestContext.Remove(SocketPlacement.SocketSiloKey);
        }
    }

    private static async Task ReadAsync(WebSocket socket, IDeviceGrain grain, DeviceSocketConnection connection, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxClientFrameBytes];
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        await connection.CloseAsync((int)WebSocketCloseStatus.MessageTooBig, "frame too large");
                        return;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                if (Parse(buffer.AsSpan(0, length)) is not { } frame)
                {
                    await connection.CloseAsync((int)WebSocketCloseStatus.InvalidPayloadData, "frames must be JSON {\"kind\":\"ack\",\"ids\":[...]}");
                    return;
                }

                if (frame.Kind == "ack" && frame.Ids is { Count: > 0 } ids)
                {
                    try
                    {
                        await grain.AckAsync(ids);
                    }
                    catch (Exception ex) when (IsTransient(ex))
                    {
                        // The ack was not applied (the grain's silo died, or the database is unreachable): the envelopes
                        // stay stored, and the grain would send them again only on the next attach. Attach again now
                        // (retried while the grain or the database is out of reach, then the socket is closed).
                        connection.AttachAgainAfterFailedAck();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
    }

    private static SocketClientFrame? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, ProtocolJson.Default.SocketClientFrame);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Keeps the socket attached to its grain: checks the attachment every <see cref="keepAliveInterval"/> and whenever
    /// asked (<see cref="CheckAllSoon"/>, <see cref="IDeviceConnection.DetachedAsync"/>, a failed ack), and attaches again where the
    /// grain no longer has it. A check that fails <see cref="CheckAttempts"/> times closes the socket so that the client
    /// reconnects, rather than leave it waiting in silence.
    /// </summary>
    private async Task KeepAliveAsync(IDeviceGrain grain, IDeviceConnection reference, DeviceSocketConnection connection, Guid connectionId, long acceptedAt, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var check = await connection.NextCheckAsync(keepAliveInterval, cancellationToken);
                await Task.Delay(check.Delay, cancellationToken);
                var attached = false;
                await WithRetriesAsync(async () => attached = await CheckAsync(grain, reference, connection, connectionId, acceptedAt, check.AttachAgain), cancellationToken);
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
    private static bool IsTransient(Exception ex) => ex is OrleansException or TimeoutException or System.Data.Common.DbException;

    /// <summary>One check of the attachment; false when the socket has been told to close (a newer one replaced it).</summary>
    private async Task<bool> CheckAsync(IDeviceGrain grain, IDeviceConnection reference, DeviceSocketConnection connection, Guid connectionId, long acceptedAt, KeyValuePair<string, object?>? attachAgain)
    {
        if (attachAgain is { } cause)
        {
            // Attaching (activating the grain anew if it deactivated) starts delivery over: every stored envelope is
            // sent once more, with the same id (the device dedups by envelope id).
            await AttachAsync(grain, reference, connectionId, acceptedAt);
            ClusterMetrics.SocketsReattached.Add(1, cause);
            return true;
        }

        switch (await grain.PingAsync(connectionId))
        {
            case SocketAttachment.Detached:
                // The grain was reactivated (its silo died) and does not know this socket.
                await AttachAsync(grain, reference, connectionId, acceptedAt);
                ClusterMetrics.SocketsReattached.Add(1, ClusterMetrics.GrainLost);
                return true;
            case SocketAttachment.Replaced:
                // A newer socket of the device is attached; the grain's close to this one may have been lost.
                await connection.CloseAsync(4409, "connected elsewhere");
                return false;
            default:
                return true;
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
