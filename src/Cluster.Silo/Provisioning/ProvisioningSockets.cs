using System.Net.WebSockets;
using Cluster.Abstractions.Provisioning;
using Cluster.Grains;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Provisioning;

/// <summary>
/// <c>GET /v1/provisioning</c>: a new device waits here, unauthenticated, for the body its primary sends. The socket
/// gets a fresh address, attaches to that address's grain as a grain observer (so the primary's request may land on
/// any silo), and closes after the body went through, after <see cref="ProvisioningOptions.SocketLifetime"/>, or when
/// this silo shuts down (1001).
/// </summary>
internal sealed partial class ProvisioningSockets(
    IGrainFactory grains,
    Messaging.ObserverReferences observers,
    IOptions<ProvisioningOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    IHostApplicationLifetime host,
    ProvisioningSocketCaps caps,
    ClientAddresses clients,
    ILogger<ProvisioningSockets> logger)
{
    /// <summary>How often a socket checks that its grain still knows it (a grain reactivated elsewhere does not).</summary>
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(30);

    /// <summary>How long a closing socket waits for the client's half of the close handshake.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    public async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ApiErrorHandling.Error(StatusCodes.Status400BadRequest, "websocket_required", "this endpoint takes a WebSocket upgrade").ExecuteAsync(context);
            return;
        }

        if (host.ApplicationStopping.IsCancellationRequested)
        {
            await ApiErrorHandling.Error(StatusCodes.Status503ServiceUnavailable, "shutting_down", "this silo is shutting down; connect again").ExecuteAsync(context);
            return;
        }

        var client = clients.KeyOf(context);
        if (caps.TryTake(client) is { } refusal)
        {
            await refusal.WriteAsync(context);
            return;
        }

        try
        {
            await ServeAsync(context);
        }
        finally
        {
            caps.Release(client);
        }
    }

    private async Task ServeAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var address = ProvisioningAddress.New();
        var connection = new ProvisioningSocketConnection(socket);
        var reference = grains.CreateObjectReference<IProvisioningSocket>(connection);
        var grain = grains.GetGrain<IProvisioningGrain>(address);
        var lifetime = options.Value.SocketLifetime;
        var expiresAt = time.GetUtcNow() + lifetime;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var detached = false;
        try
        {
            await grain.AttachAsync(reference, expiresAt);

            // The expiry timer exists before the address goes out: a test that advances a fake clock once it has the
            // address is sure to fire it.
            var expired = Task.Delay(lifetime, time, stop.Token);
            var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var onStopping = host.ApplicationStopping.Register(() => stopping.TrySetResult());
            connection.SendAddress(address);
            var writer = connection.RunWriterAsync(stop.Token);
            var reader = ReadUntilClosedAsync(socket, stop.Token);
            var keepAlive = KeepAliveAsync(grain, reference, connection, expiresAt, stop.Token);

            var ended = await Task.WhenAny(writer, reader, expired, stopping.Task);

            // Forget the address before the socket closes: once the device sees the close, a PUT answers 404.
            detached = await DetachAsync(grain);
            var hasExpired = ended == expired && expired.IsCompletedSuccessfully;
            if (hasExpired || ended == stopping.Task)
            {
                connection.Close(
                    hasExpired ? WebSocketCloseStatus.NormalClosure : WebSocketCloseStatus.EndpointUnavailable,
                    hasExpired ? "provisioning address expired" : "server shutting down");
            }
            else if (socket.State == WebSocketState.CloseReceived)
            {
                // The device gave up: answer its close (through the writer, the socket's only sender).
                connection.Close(WebSocketCloseStatus.NormalClosure, "");
            }

            // Let the writer send what is queued (the close above all), and the client answer the close, but wait on a
            // client that is gone no longer than CloseWait each.
            connection.Complete();
            await Task.WhenAny(writer, Task.Delay(CloseWait, CancellationToken.None));
            await Task.WhenAny(reader, Task.Delay(CloseWait, CancellationToken.None));
            await stop.CancelAsync();
            await Task.WhenAll(writer, reader, keepAlive);
        }
        finally
        {
            if (!detached)
            {
                await DetachAsync(grain);
            }

            observers.DeleteLater(reference);
        }
    }

    /// <summary>Reads until the client closes or goes away; a provisioning client has nothing to say, so frames are dropped.</summary>
    private static async Task ReadUntilClosedAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away.
        }
    }

    private async Task KeepAliveAsync(
        IProvisioningGrain grain, IProvisioningSocket reference, ProvisioningSocketConnection connection, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(KeepAliveInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                // A grain reactivated elsewhere (its silo died) has forgotten the socket: attach again. It refuses when
                // the address was used up meanwhile; the body, if any, is then on its way here.
                if (!await grain.PingAsync() && !await grain.AttachAsync(reference, expiresAt))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            // The address's grain cannot be reached: let the device open a new socket (and show a new code) rather
            // than wait for a body that cannot arrive.
            LogKeepAliveFailed(ex);
            connection.Close(WebSocketCloseStatus.InternalServerError, "reconnect");
        }
    }

    private async Task<bool> DetachAsync(IProvisioningGrain grain)
    {
        try
        {
            await grain.DetachAsync();
            return true;
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            LogDetachFailed(ex);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Detaching a closed provisioning socket failed")]
    private partial void LogDetachFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provisioning socket keep-alive failed")]
    private partial void LogKeepAliveFailed(Exception ex);
}
