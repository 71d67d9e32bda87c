using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace Cluster.Client.Messaging;

/// <summary>
/// A device's socket (<c>GET /v1/websocket</c>) that stays connected: it reconnects with exponential backoff and full
/// jitter, rotating through the gateways it was given, until it is disposed or the server ends it for good (4409, 4401,
/// 401). Across reconnects it never loses an envelope the application has not acked (the server re-sends unacked
/// envelopes; this class reports each envelope id once) and never loses an ack (acks made while disconnected, or whose
/// frame was lost, are sent again). Read <see cref="Updates"/> and ack what you processed. Sends can go over the socket
/// too (<see cref="SendMessageAsync"/>, or <see cref="ClusterClient.Connection"/>), at most
/// <see cref="DeviceConnectionOptions.MaxInFlightRequests"/> at once; one under way when the socket closes fails with
/// <see cref="DeviceSocketUnavailableException"/>.
/// </summary>
public sealed class DeviceConnection : IAsyncDisposable
{
    private const int AckFrameLimit = 256;
    private const int ReceiveChunk = 16 * 1024;

    private readonly IReadOnlyList<Uri> gateways;
    private readonly DeviceCredentials credentials;
    private readonly DeviceConnectionOptions options;
    private readonly Channel<DeviceUpdate> updates = Channel.CreateUnbounded<DeviceUpdate>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly CancellationTokenSource stopping = new();
    private readonly TaskCompletionSource<DeviceConnectionStopReason> stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim sendLock = new(1, 1);
    private readonly Lock gate = new();

    // Envelopes reported to the application and not yet acked by it: a re-delivery of one is dropped.
    private readonly HashSet<Guid> unacked = [];

    // Recently acked ids, oldest first: a re-delivery of one means its ack was lost, so it is acked again.
    private readonly HashSet<Guid> acked = [];
    private readonly Queue<Guid> ackedOrder = new();

    // Acks made while no socket was open, or whose frame failed: sent first on the next connection.
    private readonly List<Guid> pendingAcks = [];

    // Requests sent and not answered yet, by request id, with the socket each went out on; under the gate.
    private readonly Dictionary<string, PendingRequest> pendingRequests = new(StringComparer.Ordinal);

    // Places for requests under way (DeviceConnectionOptions.MaxInFlightRequests), so that the server's bound is not met.
    private readonly SemaphoreSlim requestSlots;

    private long lastRequestId;

    private ClientWebSocket? current;
    private Task? loop;
    private int connections;
    private long duplicatesDropped;

    /// <summary>A connection for <paramref name="credentials"/> through <paramref name="gateways"/> (tried in order, rotating on failure). Call <see cref="StartAsync"/>.</summary>
    public DeviceConnection(IReadOnlyList<Uri> gateways, DeviceCredentials credentials, DeviceConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        ArgumentNullException.ThrowIfNull(credentials);
        if (gateways.Count == 0)
        {
            throw new ArgumentException("at least one gateway is needed", nameof(gateways));
        }

        this.gateways = gateways;
        this.credentials = credentials;
        this.options = options ?? new DeviceConnectionOptions();
        requestSlots = new SemaphoreSlim(this.options.MaxInFlightRequests, this.options.MaxInFlightRequests);
    }

    /// <summary>Everything the connection reports, in order. Completes once the connection has stopped.</summary>
    public ChannelReader<DeviceUpdate> Updates => updates.Reader;

    /// <summary>Completes with the reason once the connection stopped for good.</summary>
    public Task<DeviceConnectionStopReason> Stopped => stopped.Task;

    /// <summary>Whether a socket is open right now.</summary>
    public bool IsConnected
    {
        get
        {
            lock (gate)
            {
                return current is { State: WebSocketState.Open };
            }
        }
    }

    /// <summary>How many sockets have been opened so far (1 + reconnects).</summary>
    public int Connections => Volatile.Read(ref connections);

    /// <summary>How many re-delivered envelopes were recognised by id and not reported again.</summary>
    public long DuplicatesDropped => Interlocked.Read(ref duplicatesDropped);

    /// <summary>Opens a connection and returns once the first socket is open.</summary>
    public static async Task<DeviceConnection> ConnectAsync(
        IReadOnlyList<Uri> gateways, DeviceCredentials credentials, DeviceConnectionOptions? options = null, CancellationToken cancellationToken = default)
    {
        var connection = new DeviceConnection(gateways, credentials, options);
        try
        {
            await connection.StartAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts connecting and returns once the first socket is open. Keeps retrying unreachable gateways until
    /// <paramref name="cancellationToken"/> fires (the connection then keeps trying in the background); throws
    /// <see cref="ClusterApiException"/> when the server refuses the credentials.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(stopping.IsCancellationRequested, this);
            loop ??= Task.Run(RunAsync, CancellationToken.None);
        }

        var first = await Task.WhenAny(firstConnection.Task, stopped.Task).WaitAsync(cancellationToken);
        if (first == stopped.Task && !firstConnection.Task.IsCompleted)
        {
            var reason = await stopped.Task;
            throw reason == DeviceConnectionStopReason.Unauthorized
                ? new ClusterApiException(HttpStatusCode.Unauthorized, "unauthorized", $"the server refused the credentials of {credentials.Login}")
                : new InvalidOperationException($"the connection of {credentials.Login} stopped before it opened: {reason}");
        }
    }

    /// <summary>Acks (deletes for good) envelopes the application has processed. Safe to call while disconnected: the acks are sent on the next socket.</summary>
    public async Task AckAsync(IEnumerable<Guid> envelopeIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelopeIds);
        var ids = envelopeIds.ToList();
        if (ids.Count == 0)
        {
            return;
        }

        ClientWebSocket? socket;
        lock (gate)
        {
            foreach (var id in ids)
            {
                unacked.Remove(id);
                RememberAcked(id);
            }

            socket = current;
            if (socket is null)
            {
                pendingAcks.AddRange(ids);
                return;
            }
        }

        if (!await TrySendAcksAsync(socket, ids, cancellationToken))
        {
            lock (gate)
            {
                pendingAcks.AddRange(ids);
            }
        }
    }

    /// <summary>Acks one envelope.</summary>
    public Task AckAsync(Guid envelopeId, CancellationToken cancellationToken = default) => AckAsync([envelopeId], cancellationToken);

    /// <summary>
    /// <c>PUT /v1/messages/{accountId}</c> over the socket (a <c>sendMessages</c> request): the same answer as HTTP, once
    /// every copy is durably stored, and the same exceptions as <see cref="ClusterClient.SendMessageAsync"/> for a refusal.
    /// Not retried here: throws <see cref="DeviceSocketUnavailableException"/> when no socket is open or it closes before
    /// the answer (the send may or may not have been stored; send it again with the same <c>clientMessageId</c>).
    /// <see cref="ClusterClient.SendMessageAsync"/> with <see cref="ClusterClient.Connection"/> set does that.
    /// </summary>
    public async Task<SendResult> SendMessageAsync(string accountId, OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        ArgumentNullException.ThrowIfNull(message);
        var response = await RequestAsync(
            id => JsonSerializer.SerializeToUtf8Bytes(new SendMessagesFrame("request", id, "sendMessages", accountId, message), ClientJson.Default.SendMessagesFrame),
            cancellationToken);
        return AnswerOf(response, "sendMessages", HttpStatusCode.OK, ClientJson.Default.SendResult);
    }

    /// <summary>
    /// <c>PUT /v1/groups/{groupId}/messages</c> over the socket (a <c>sendGroupMessage</c> request): returns once every
    /// copy is durable, and throws what <see cref="ClusterClient.SendGroupMessageAsync"/> throws for a refusal. Not
    /// retried here, as <see cref="SendMessageAsync"/>.
    /// </summary>
    public async Task SendGroupMessageAsync(string groupId, Groups.GroupMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupId);
        ArgumentNullException.ThrowIfNull(message);
        var response = await RequestAsync(
            id => JsonSerializer.SerializeToUtf8Bytes(new GroupMessageFrame("request", id, "sendGroupMessage", groupId, message), ClientJson.Default.GroupMessageFrame),
            cancellationToken);
        AnswerOf(response, "sendGroupMessage", HttpStatusCode.OK, ClientJson.Default.GroupSendAnswer);
    }

    /// <summary><c>POST /v1/calls</c> over the socket (a <c>startCall</c> request): the call id, or what <see cref="ClusterClient.StartCallAsync"/> throws.</summary>
    public async Task<string> StartCallAsync(string to, IReadOnlyList<Calls.CallOffer> offers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(offers);
        var response = await RequestAsync(
            id => JsonSerializer.SerializeToUtf8Bytes(new StartCallFrame("request", id, "startCall", new StartCallBody(to, offers)), ClientJson.Default.StartCallFrame),
            cancellationToken);
        return AnswerOf(response, "startCall", HttpStatusCode.Created, ClientJson.Default.CallIdAnswer).CallId;
    }

    /// <summary>
    /// A call action over the socket: <paramref name="type"/> is <c>answerCall</c>, <c>rejectCall</c>, <c>hangupCall</c>
    /// or <c>relayIce</c> (<paramref name="payload"/> for answer and ICE); the refusals of the HTTP routes throw alike.
    /// </summary>
    internal async Task CallActionAsync(string type, string callId, byte[]? payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        var response = await RequestAsync(
            id => JsonSerializer.SerializeToUtf8Bytes(
                new CallActionFrame("request", id, type, callId, payload is null ? null : new PayloadBody(payload)), ClientJson.Default.CallActionFrame),
            cancellationToken);
        if (response.Status is < 200 or > 299)
        {
            throw ClusterClient.RefusalOf((HttpStatusCode)response.Status, response.Body.GetRawText(), null, response.RetryAfter);
        }
    }

    /// <summary>The answer of a request that succeeds with <paramref name="ok"/>; a refusal throws as over HTTP.</summary>
    private static TAnswer AnswerOf<TAnswer>(SocketResponse response, string type, HttpStatusCode ok, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TAnswer> answerType) =>
        response.Status == (int)ok
            ? response.Body.Deserialize(answerType) ?? throw new ClusterApiException(ok, "empty_answer", $"{type}: the server answered null")
            : throw ClusterClient.RefusalOf((HttpStatusCode)response.Status, response.Body.GetRawText(), null, response.RetryAfter);

    /// <summary>
    /// Closes the socket with a normal closure and stops reconnecting. Acks already sent are applied before the server
    /// answers the close; acks not yet sent (made while disconnected) are lost, and their envelopes come again next time.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        ClientWebSocket? socket;
        lock (gate)
        {
            if (stopping.IsCancellationRequested)
            {
                return;
            }

            stopping.Cancel();
            socket = current;
        }

        if (socket is not null)
        {
            await CloseAsync(socket);
        }

        if (loop is not null)
        {
            try
            {
                // The receive loop ends when the server answers the close (it reads frames in order, so it has applied
                // every ack sent before it); a server that does not answer in time is cut off.
                await loop.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (TimeoutException)
            {
                socket?.Abort();
                await loop;
            }
        }

        Stop(DeviceConnectionStopReason.Disposed);
        lock (gate)
        {
            FailRequests(socket: null);
        }

        stopping.Dispose();
        sendLock.Dispose();
    }

    private async Task CloseAsync(ClientWebSocket socket)
    {
        await sendLock.WaitAsync();
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            socket.Abort();
        }
        finally
        {
            sendLock.Release();
        }
    }

    private async Task RunAsync()
    {
        var failures = 0;
        var gatewayIndex = 0;
        while (!stopping.IsCancellationRequested)
        {
            var gateway = gateways[gatewayIndex % gateways.Count];
            var socket = NewSocket();
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
                timeout.CancelAfter(options.ConnectTimeout);
                await socket.ConnectAsync(SocketUri(gateway), options.Invoker, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or HttpRequestException)
            {
                var status = socket.HttpStatusCode;
                socket.Dispose();
                if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    Stop(DeviceConnectionStopReason.Unauthorized);
                    break;
                }

                gatewayIndex++;
                await DelayAsync(Backoff(++failures));
                continue;
            }

            failures = 0;
            List<Guid> unsent;
            lock (gate)
            {
                if (stopping.IsCancellationRequested)
                {
                    socket.Dispose();
                    break;
                }

                current = socket;
                unsent = [.. pendingAcks];
                pendingAcks.Clear();
            }

            updates.Writer.TryWrite(new Connected(gateway, Interlocked.Increment(ref connections)));
            firstConnection.TrySetResult();
            if (unsent.Count > 0 && !await TrySendAcksAsync(socket, unsent, CancellationToken.None))
            {
                lock (gate)
                {
                    pendingAcks.AddRange(unsent);
                }
            }

            var (closeStatus, description) = await ReceiveAsync(socket);
            lock (gate)
            {
                current = null;
                FailRequests(socket);
            }

            socket.Dispose();
            if (stopping.IsCancellationRequested)
            {
                break;
            }

            updates.Writer.TryWrite(new Disconnected(closeStatus, description));
            if (closeStatus == 4409)
            {
                Stop(DeviceConnectionStopReason.ConnectedElsewhere);
                break;
            }

            if (closeStatus == 4401)
            {
                Stop(DeviceConnectionStopReason.DeviceRemoved);
                break;
            }

            // Any gateway serves any device: try the next one. A silo that is going away (1001) asked us to move
            // at once; anything else backs off a little first so a struggling cluster is not stampeded.
            gatewayIndex++;
            await DelayAsync(closeStatus == (int)WebSocketCloseStatus.EndpointUnavailable ? Jitter(options.InitialBackoff) : Backoff(1));
        }

        Stop(DeviceConnectionStopReason.Disposed);
    }

    private ClientWebSocket NewSocket()
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", credentials.ToAuthorizationHeader().ToString());
        socket.Options.KeepAliveInterval = options.KeepAliveInterval;
        socket.Options.KeepAliveTimeout = options.KeepAliveTimeout;
        socket.Options.CollectHttpResponseDetails = true;
        return socket;
    }

    private async Task<(int? Status, string? Description)> ReceiveAsync(ClientWebSocket socket)
    {
        var message = new ArrayBufferWriter<byte>(ReceiveChunk);
        try
        {
            while (true)
            {
                message.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(message.GetMemory(ReceiveChunk), CancellationToken.None);
                    message.Advance(result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseAsync(socket);

                    return ((int?)socket.CloseStatus, socket.CloseStatusDescription);
                }

                var reAck = Dispatch(message.WrittenSpan);
                if (reAck is { } id)
                {
                    await TrySendAcksAsync(socket, [id], CancellationToken.None);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or JsonException or InvalidOperationException)
        {
            socket.Abort();
            return (null, ex.Message);
        }
    }

    // Reports one frame; returns an envelope id to ack again when the frame re-delivered an envelope already acked.
    private Guid? Dispatch(ReadOnlySpan<byte> frame)
    {
        using var json = JsonDocument.Parse(frame.ToArray());
        var root = json.RootElement;
        switch (root.GetProperty("kind").GetString())
        {
            case "envelope":
                var envelope = root.GetProperty("envelope").Deserialize(ClientJson.Default.Envelope)
                    ?? throw new JsonException("an envelope frame without an envelope");
                lock (gate)
                {
                    if (acked.Contains(envelope.Id))
                    {
                        Interlocked.Increment(ref duplicatesDropped);
                        return envelope.Id;
                    }

                    if (!unacked.Add(envelope.Id))
                    {
                        Interlocked.Increment(ref duplicatesDropped);
                        return null;
                    }
                }

                updates.Writer.TryWrite(new EnvelopeReceived(envelope));
                return null;
            case "event":
                updates.Writer.TryWrite(new EventReceived(DeviceEvent.Parse(root.GetProperty("event"))));
                return null;
            case "queueEmpty":
                updates.Writer.TryWrite(new QueueEmpty());
                return null;
            case "response":
                var id = root.GetProperty("id").GetString() ?? "";
                var answer = new SocketResponse(
                    root.GetProperty("status").GetInt32(),
                    root.TryGetProperty("retryAfter", out var retryAfter) ? TimeSpan.FromSeconds(retryAfter.GetInt32()) : null,
                    root.GetProperty("body").Clone());
                lock (gate)
                {
                    if (pendingRequests.TryGetValue(id, out var request))
                    {
                        request.Answer.TrySetResult(answer);
                    }
                }

                return null;
            default:
                // A frame kind added after this SDK version: ignore it, as the protocol ignores unknown members.
                return null;
        }
    }

    /// <summary>Sends one request frame (built for its id) on the current socket and waits for its response.</summary>
    private async Task<SocketResponse> RequestAsync(Func<string, byte[]> frame, CancellationToken cancellationToken)
    {
        await requestSlots.WaitAsync(cancellationToken);
        var id = Interlocked.Increment(ref lastRequestId).ToString(CultureInfo.InvariantCulture);
        try
        {
            var answer = new TaskCompletionSource<SocketResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            ClientWebSocket socket;
            lock (gate)
            {
                ObjectDisposedException.ThrowIf(stopping.IsCancellationRequested, this);
                socket = current ?? throw new DeviceSocketUnavailableException($"{credentials.Login} has no socket open");
                pendingRequests[id] = new PendingRequest(socket, answer);
            }

            if (!await TrySendFrameAsync(socket, frame(id), cancellationToken))
            {
                throw new DeviceSocketUnavailableException($"the request could not be written to the socket of {credentials.Login}");
            }

            return await answer.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            lock (gate)
            {
                pendingRequests.Remove(id);
            }

            requestSlots.Release();
        }
    }

    /// <summary>Fails the requests under way on <paramref name="socket"/> (every one when null); under the gate.</summary>
    private void FailRequests(ClientWebSocket? socket)
    {
        foreach (var request in pendingRequests.Values)
        {
            if (socket is null || request.Socket == socket)
            {
                request.Answer.TrySetException(new DeviceSocketUnavailableException(
                    "the socket closed before the answer: the request may or may not have been done (send again with the same clientMessageId)"));
            }
        }
    }

    private async Task<bool> TrySendFrameAsync(ClientWebSocket socket, byte[] frame, CancellationToken cancellationToken)
    {
        try
        {
            await sendLock.WaitAsync(cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        try
        {
            // Not cancelled mid-write: a cancelled write aborts the whole socket.
            await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            sendLock.Release();
        }
    }

    private async Task<bool> TrySendAcksAsync(ClientWebSocket socket, List<Guid> ids, CancellationToken cancellationToken)
    {
        try
        {
            await sendLock.WaitAsync(cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        try
        {
            for (var start = 0; start < ids.Count; start += AckFrameLimit)
            {
                var frame = new AckFrame("ack", ids.Skip(start).Take(AckFrameLimit).ToList());
                var bytes = JsonSerializer.SerializeToUtf8Bytes(frame, ClientJson.Default.AckFrame);
                await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }

            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            sendLock.Release();
        }
    }

    private void RememberAcked(Guid id)
    {
        if (!acked.Add(id))
        {
            return;
        }

        ackedOrder.Enqueue(id);
        while (ackedOrder.Count > options.RememberedAcks)
        {
            acked.Remove(ackedOrder.Dequeue());
        }
    }

    private void Stop(DeviceConnectionStopReason reason)
    {
        if (stopped.TrySetResult(reason))
        {
            updates.Writer.TryComplete();
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var ceiling = options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
        return Jitter(TimeSpan.FromMilliseconds(Math.Min(ceiling, options.MaxBackoff.TotalMilliseconds)));
    }

    private static TimeSpan Jitter(TimeSpan ceiling) => TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling.TotalMilliseconds);

    private async Task DelayAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, options.TimeProvider, stopping.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static Uri SocketUri(Uri gateway) =>
        new UriBuilder(gateway) { Scheme = gateway.Scheme == Uri.UriSchemeHttps ? "wss" : "ws", Path = "/v1/websocket" }.Uri;

    private sealed record PendingRequest(ClientWebSocket Socket, TaskCompletionSource<SocketResponse> Answer);

    private sealed record SocketResponse(int Status, TimeSpan? RetryAfter, JsonElement Body);
}

/// <summary>
/// A request over the device socket found no socket open, or the socket closed before the answer (the request may or may
/// not have been done). An <see cref="IOException"/>, so that <see cref="SendRetryPolicy"/> sends it again.
/// </summary>
public sealed class DeviceSocketUnavailableException(string message) : IOException(message);
