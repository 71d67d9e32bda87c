using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Grains;
using Cluster.Grains.Observability;
using Cluster.Silo.Calls;
using Cluster.Silo.Groups;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Messaging;

/// <summary>
/// Requests a device makes over its socket instead of HTTP (docs/protocol.md, "Requests over the device socket"): a
/// request frame names a type (the operation id of its HTTP route: <c>sendMessages</c>, <c>sendGroupMessage</c>,
/// <c>startCall</c>, <c>answerCall</c>, <c>rejectCall</c>, <c>hangupCall</c>, <c>relayIce</c>), an id the client chose,
/// the route's parameters and its body; it runs through the same code as its HTTP route (<see cref="MessageSends"/>,
/// <see cref="GroupSends"/>, <see cref="CallActions"/>), with the same limits, and its response frame carries the id
/// back with the status and the body HTTP would answer, once what it stores is durable. Per socket (one <see cref="Session"/>): at
/// most <see cref="DeviceSocketOptions.MaxInFlightRequests"/> requests and <see cref="DeviceSocketOptions.MaxInFlightRequestBytes"/>
/// of their frames under way; past either, a 429 response at once and nothing done. Answers queue with the socket's other
/// frames and are never dropped (a device that sends requests without reading the answers is closed with 4408, see
/// <see cref="DeviceSocketConnection.Answer"/>). A frame that says it is a request but cannot be one gets an error frame
/// naming the problem and the socket stays open; client input is never logged above Debug. Holds no state itself: each
/// session holds its socket's counts.
/// </summary>
internal sealed partial class SocketRequests
{
    /// <summary>The request type of <c>PUT /v1/messages/{accountId}</c> (its OpenAPI operation id).</summary>
    public const string SendMessagesType = "sendMessages";

    private const int MaxIdLength = 128;

    /// <summary>Room in a frame for what surrounds the body: kind, id, type, accountId.</summary>
    private const int FrameOverheadBytes = 4 * 1024;

    /// <summary>The client frame limit before requests existed; frames of any kind up to it are always read.</summary>
    private const int MinFrameBytes = 64 * 1024;

    private static readonly KeyValuePair<string, object?> UnknownTypeLabel = new("type", "unknown");
    private static readonly KeyValuePair<string, object?> InvalidFrameLabel = new("status", "invalid_frame");
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = ProtocolJson.Default.Options.Encoder };

    private readonly IGrainFactory grains;
    private readonly DeviceSocketOptions limits;
    private readonly ILogger<SocketRequests> logger;
    private readonly FrozenDictionary<string, RequestType> types;
    private readonly string typeList;

    public SocketRequests(
        MessageSends sends, GroupSends groupSends, CallActions calls, IGrainFactory grains, IOptions<DeviceSocketOptions> options, ILogger<SocketRequests> logger)
    {
        this.grains = grains;
        limits = options.Value;
        this.logger = logger;
        RequestType[] all =
        [
            new(SendMessagesType, sends.MaxBodyBytes, (device, credential, frame, body) => SendMessagesAsync(sends, device, credential, frame, body)),
            new("sendGroupMessage", groupSends.MaxBodyBytes, (device, credential, frame, body) => groupSends.SendAsync(device, credential, frame.GroupId, body)),
            new("startCall", calls.MaxStartBodyBytes, (device, _, _, body) => calls.StartAsync(device, body)),
            new("answerCall", calls.MaxPayloadBodyBytes, (device, _, frame, body) => calls.AnswerAsync(device, frame.CallId, body)),
            new("rejectCall", 0, (device, _, frame, _) => calls.RejectAsync(device, frame.CallId)),
            new("hangupCall", 0, (device, _, frame, _) => calls.HangupAsync(device, frame.CallId)),
            new("relayIce", calls.MaxPayloadBodyBytes, (device, _, frame, body) => calls.RelayIceAsync(device, frame.CallId, body)),
        ];
        types = all.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
        typeList = string.Join(", ", all.Select(t => t.Name));
        MaxFrameBytes = (int)Math.Min(int.MaxValue, Math.Max(MinFrameBytes, all.Max(t => t.MaxBodyBytes) + FrameOverheadBytes));
    }

    /// <summary>What a request of a type runs, as <paramref name="device"/> in its account's current <paramref name="credential"/>.</summary>
    private delegate Task<Answer> Handler(DeviceAddress device, DeviceCredential credential, SocketClientFrame frame, JsonRequestBody body);

    /// <summary>
    /// The largest client frame a device socket reads (larger ones close it with 1009): room for the largest body a
    /// request takes over HTTP (<see cref="MessageSends.MaxBodyBytes"/> by default) and the frame around it, at least
    /// 64 KiB. A request whose body is over its own type's HTTP limit is answered 413 <c>payload_too_large</c>.
    /// </summary>
    public int MaxFrameBytes { get; }

    /// <summary>The requests of one socket, authenticated as <paramref name="device"/> in <paramref name="incarnation"/>.</summary>
    public Session Open(DeviceSocketConnection connection, DeviceAddress device, Guid incarnation) => new(this, connection, device, incarnation);

    /// <summary>
    /// For a client frame that did not fit the frame contract (<paramref name="problem"/>): when it says it is a request,
    /// the frame that answers it (a 400 response naming the member when its id is usable, else an error frame), and the
    /// socket stays open; null otherwise, and the socket closes with 1007 as for any frame that is not a client frame.
    /// </summary>
    public static byte[]? RefusalOf(ReadOnlySpan<byte> json, JsonException problem)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("kind"u8, out var kind)
                || kind.ValueKind != JsonValueKind.String || !kind.ValueEquals("request"u8))
            {
                return null;
            }

            var refusal = JsonBody.Refusal(problem);
            if (refusal.Field != "id" && UsableId(root) is { } id)
            {
                Count(UnknownTypeLabel, refusal.Status);
                return ResponseFrame(id, Answer.Of(refusal));
            }

            ClusterMetrics.SocketRequests.Add(1, UnknownTypeLabel, InvalidFrameLabel);
            return ErrorFrame(refusal.Field == "id" ? IdProblem() : refusal);
        }
    }

    /// <summary>The response frame: <c>{"kind":"response","id","status","retryAfter"?,"body"}</c>, the body as HTTP answers it.</summary>
    internal static byte[] ResponseFrame(string id, Answer answer)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("kind"u8, "response"u8);
            writer.WriteString("id"u8, id);
            writer.WriteNumber("status"u8, answer.Status);
            if (answer.RetryAfterSeconds is { } seconds)
            {
                writer.WriteNumber("retryAfter"u8, seconds);
            }

            writer.WritePropertyName("body"u8);
            answer.WriteBody(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The error frame of a request without a usable id: <c>{"kind":"error","error","message","field"?}</c>.</summary>
    private static byte[] ErrorFrame(ApiException problem)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("kind"u8, "error"u8);
            writer.WriteString("error"u8, problem.Error);
            writer.WriteString("message"u8, problem.Message);
            if (problem.Field is { } field)
            {
                writer.WriteString("field"u8, field);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static ApiException IdProblem() => ApiException.InvalidField("id", $"must be 1 to {MaxIdLength} printable ASCII characters; the response carries it back");

    /// <summary>The request's id if it is 1 to <see cref="MaxIdLength"/> printable ASCII characters (so that it is echoed as sent).</summary>
    private static string? UsableId(string? id) => id is { Length: > 0 and <= MaxIdLength } && id.All(c => c is >= ' ' and <= '~') ? id : null;

    private static string? UsableId(JsonElement root)
    {
        if (!root.TryGetProperty("id"u8, out var id) || id.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return UsableId(id.GetString());
        }
        catch (InvalidOperationException)
        {
            // Not valid UTF-16 once decoded.
            return null;
        }
    }

    private static void Count(KeyValuePair<string, object?> type, int status) =>
        ClusterMetrics.SocketRequests.Add(1, type, new KeyValuePair<string, object?>("status", status.ToString(CultureInfo.InvariantCulture)));

    /// <summary><c>PUT /v1/messages/{accountId}</c>, in the order the HTTP route checks it.</summary>
    private static async Task<Answer> SendMessagesAsync(MessageSends sends, DeviceAddress device, DeviceCredential credential, SocketClientFrame frame, JsonRequestBody body)
    {
        if (sends.Admit(device, frame.AccountId) is { } refusal)
        {
            return refusal.ToAnswer();
        }

        return await sends.SendAsync(device, credential, frame.AccountId!, await body.ReadAsync(ProtocolJson.Default.SendMessagesRequest, sends.MaxBodyBytes));
    }

    /// <summary>Runs one admitted request of <paramref name="type"/>; its answer.</summary>
    private async Task<Answer> RunAsync(RequestType type, DeviceAddress device, Guid incarnation, SocketClientFrame frame, int frameBytes)
    {
        // As every HTTP request is authenticated: the device is still there, and the account's device count (needsSync)
        // and the incarnation (the idempotency scope) are the current ones. Counts as the device being seen, as HTTP does.
        var credential = await grains.Get<IAccountGrain>(device.AccountId).AuthenticateAsync(device.DeviceId);
        if (credential is null || credential.Incarnation != incarnation)
        {
            return Answer.Error(StatusCodes.Status401Unauthorized, "unauthorized", "this device was removed");
        }

        return await type.Run(device, credential, frame, JsonRequestBody.Frame(frame.Body, frameBytes, FrameOverheadBytes));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A socket request {Type} failed on a transient cluster fault ({Exception}); answered 503")]
    private partial void LogTransientFault(string type, string exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A socket request {Type} failed; answered 500")]
    private partial void LogFailed(Exception ex, string type);

    /// <summary>
    /// One socket's requests: admits each (id, type, the in-flight bounds), runs it, queues its answer. Its counts change
    /// only under its lock, from the socket's reader loop (<see cref="Accept"/>) and each request's end.
    /// </summary>
    internal sealed class Session(SocketRequests owner, DeviceSocketConnection connection, DeviceAddress device, Guid incarnation)
    {
        private readonly Lock gate = new();

        // Requests under way and the bytes of their frames: raised by Accept, lowered when each is answered.
        private int running;
        private long runningBytes;

        // Completed when the last request under way is answered, once WhenIdleAsync asked; set by WhenIdleAsync.
        private TaskCompletionSource? idle;

        /// <summary>Takes a request frame of <paramref name="frameBytes"/> bytes: answers it at once when it is unusable or over the bounds, else starts it.</summary>
        public void Accept(SocketClientFrame frame, int frameBytes)
        {
            if (UsableId(frame.Id) is not { } id)
            {
                ClusterMetrics.SocketRequests.Add(1, UnknownTypeLabel, InvalidFrameLabel);
                connection.Answer(ErrorFrame(frame.Id is null ? ApiException.MissingField("id") : IdProblem()));
                return;
            }

            if (frame.Type is null || !owner.types.TryGetValue(frame.Type, out var type))
            {
                Respond(id, UnknownTypeLabel, Answer.Of(frame.Type is null
                    ? ApiException.MissingField("type")
                    : ApiException.InvalidField("type", $"not a request type; the types are: {owner.typeList}")));
                return;
            }

            if (!TryStart(frameBytes))
            {
                var limit = owner.limits;
                Respond(id, type.Label, RateLimitRefusal.TooMany(
                    Limits.SocketRequestsInFlight,
                    TimeSpan.FromSeconds(1),
                    $"this socket has {limit.MaxInFlightRequests} requests or {limit.MaxInFlightRequestBytes} bytes of them under way; wait for their answers").ToAnswer());
                return;
            }

            _ = RunAsync(id, type, frame, frameBytes);
        }

        /// <summary>Completes once no request is under way: their grain calls are done and their answers queued (or dropped, on a closed socket).</summary>
        public Task WhenIdleAsync()
        {
            lock (gate)
            {
                if (running == 0)
                {
                    return Task.CompletedTask;
                }

                idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return idle.Task;
            }
        }

        private bool TryStart(int frameBytes)
        {
            lock (gate)
            {
                if (running > 0 && (running >= owner.limits.MaxInFlightRequests || runningBytes + frameBytes > owner.limits.MaxInFlightRequestBytes))
                {
                    return false;
                }

                running++;
                runningBytes += frameBytes;
                return true;
            }
        }

        private async Task RunAsync(string id, RequestType type, SocketClientFrame frame, int frameBytes)
        {
            Answer answer;
            try
            {
                answer = await owner.RunAsync(type, device, incarnation, frame, frameBytes);
            }
            catch (ApiException ex)
            {
                answer = Answer.Of(ex);
            }
            catch (Exception ex) when (DeviceSockets.IsTransient(ex))
            {
                owner.LogTransientFault(type.Name, ex.GetType().Name);
                answer = Answer.Error(
                    StatusCodes.Status503ServiceUnavailable,
                    "unavailable",
                    "the cluster could not complete the request right now; retry it (a send with the same clientMessageId)",
                    retryAfterSeconds: 1);
            }
            catch (Exception ex)
            {
                owner.LogFailed(ex, type.Name);
                answer = Answer.Error(StatusCodes.Status500InternalServerError, "internal_error", "the server failed this request; please report it");
            }

            Respond(id, type.Label, answer);
            TaskCompletionSource? done = null;
            lock (gate)
            {
                running--;
                runningBytes -= frameBytes;
                if (running == 0)
                {
                    (done, idle) = (idle, null);
                }
            }

            done?.TrySetResult();
        }

        private void Respond(string id, KeyValuePair<string, object?> type, Answer answer)
        {
            Count(type, answer.Status);
            connection.Answer(ResponseFrame(id, answer));
        }
    }

    /// <summary>A request type: its name (the operation id of its HTTP route), its HTTP body limit and what it runs.</summary>
    private sealed class RequestType(string name, long maxBodyBytes, Handler run)
    {
        public string Name { get; } = name;

        public long MaxBodyBytes { get; } = maxBodyBytes;

        public Handler Run { get; } = run;

        /// <summary>The <c>type</c> label of <c>cluster_socket_requests_total</c>.</summary>
        public KeyValuePair<string, object?> Label { get; } = new("type", name);
    }
}
