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
internal sealed partial class DeviceSockets(IGrainFactory grains, ClusterHostOptions options, ILocalSiloDetails silo, ILogger<DeviceSockets> logger)
{
    /// <summary>How often a socket checks that its grain still knows it (a grain reactivated elsewhere does not).</summary>
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(30);
    private const int MaxClientFrameBytes = 64 * 1024;

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
                await AttachAsync(grain, reference, connectionId, acceptedAt);
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException or System.Data.Common.DbException)
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

            grains.DeleteObjectReference<IDeviceConnection>(reference);
            try
            {
                await grain.DisconnectAsync(connectionId);
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                LogDetachFailed(ex);
            }
        }
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
                    await grain.AckAsync(ids);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or System.Data.Common.DbException)
        {
            // An ack could not be applied (the device's grain or the database is unreachable): the envelopes stay
            // queued, and the client is told to reconnect rather than left on a socket that no longer works.
            await connection.CloseAsync((int)WebSocketCloseStatus.InternalServerError, "reconnect");
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

    private async Task KeepAliveAsync(IDeviceGrain grain, IDeviceConnection reference, DeviceSocketConnection connection, Guid connectionId, long acceptedAt, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(KeepAliveInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                switch (await grain.PingAsync(connectionId))
                {
                    case SocketAttachment.Detached:
                        // The grain was reactivated (its silo died) and does not know this socket: attach again, which
                        // sends every unacked envelope once more (the device dedups by envelope id).
                        await AttachAsync(grain, reference, connectionId, acceptedAt);
                        break;
                    case SocketAttachment.Replaced:
                        // A newer socket of the device is attached; the grain's close to this one may have been lost.
                        await connection.CloseAsync(4409, "connected elsewhere");
                        return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            // The device's grain cannot be reached: let the client reconnect (and re-attach) rather than wait in silence.
            LogKeepAliveFailed(ex);
            await connection.CloseAsync((int)WebSocketCloseStatus.InternalServerError, "reconnect");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Attaching a device socket to its grain failed; the client is told to reconnect")]
    private partial void LogAttachFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Detaching a closed device socket failed")]
    private partial void LogDetachFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device socket keep-alive failed")]
    private partial void LogKeepAliveFailed(Exception ex);
}
