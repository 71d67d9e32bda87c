using Orleans.Concurrency;

namespace Cluster.Abstractions.Messaging;

/// <summary>One device's copy of a message, encrypted by the sender for that device.</summary>
/// <param name="DeviceId">The destination device.</param>
/// <param name="RegistrationId">The registration id the sender believes the device has (410 when stale).</param>
/// <param name="Type">The Signal message type (0 is reserved for server notices).</param>
/// <param name="Content">The ciphertext.</param>
[GenerateSerializer, Immutable, Alias("OutgoingMessage")]
public sealed record OutgoingMessage(
    [property: Id(0)] int DeviceId,
    [property: Id(1)] int RegistrationId,
    [property: Id(2)] int Type,
    [property: Id(3)] byte[] Content);

/// <summary>A send of <c>PUT /v1/messages/{accountId}</c>, already validated for shape by the gateway.</summary>
[GenerateSerializer, Immutable, Alias("SendRequest")]
public sealed record SendRequest
{
    /// <summary>The sending device.</summary>
    [Id(0)] public required DeviceAddress Sender { get; init; }

    /// <summary>How many devices the sender's account has (from its credential): needsSync is true when more than one.</summary>
    [Id(1)] public required int SenderDeviceCount { get; init; }

    /// <summary>The destination account.</summary>
    [Id(2)] public required string Destination { get; init; }

    /// <summary>One copy per destination device.</summary>
    [Id(3)] public required IReadOnlyList<OutgoingMessage> Messages { get; init; }

    /// <summary>The client's timestamp (Unix ms).</summary>
    [Id(4)] public required long Timestamp { get; init; }

    /// <summary>Ephemeral: delivered only to connected devices, never stored.</summary>
    [Id(5)] public bool Online { get; init; }

    /// <summary>Whether the message is urgent (wakes the device).</summary>
    [Id(6)] public bool Urgent { get; init; } = true;

    /// <summary>The client's idempotency key, or null.</summary>
    [Id(7)] public string? ClientMessageId { get; init; }

    /// <summary>
    /// The sending device's incarnation (<see cref="Accounts.DeviceCredential.Incarnation"/>): a device linked later under
    /// the same id is another sender, whose idempotency keys are its own. Empty for devices stored before incarnations.
    /// </summary>
    [Id(8)] public Guid SenderIncarnation { get; init; }

    /// <summary>The sender set <c>urgent: true</c> explicitly: an offline destination device is woken at once, past the push coalescing.</summary>
    [Id(9)] public bool WakeNow { get; init; }

    /// <summary>
    /// Whose idempotency keys <see cref="ClientMessageId"/> belongs to: the sending device's address, and its incarnation
    /// when it has one (so that a companion given a removed device's id never meets that device's receipts).
    /// </summary>
    public string IdempotencyScope => SenderIncarnation == Guid.Empty ? Sender.GrainKey : $"{Sender.GrainKey}/{SenderIncarnation:N}";
}

/// <summary>The outcome of a send.</summary>
public enum SendStatus
{
    /// <summary>Every envelope is durably stored (or, for ephemeral sends, pushed to whoever is connected).</summary>
    Sent,

    /// <summary>The destination account does not exist.</summary>
    UnknownAccount,

    /// <summary>The device ids differ from the destination's current devices (409).</summary>
    MismatchedDevices,

    /// <summary>A registration id is not the device's current one (410).</summary>
    StaleDevices,
}

/// <summary>The answer to a send.</summary>
[GenerateSerializer, Immutable, Alias("SendResult")]
public sealed record SendResult
{
    /// <summary>The outcome.</summary>
    [Id(0)] public required SendStatus Status { get; init; }

    /// <summary>With <see cref="SendStatus.Sent"/>: the sender has other devices that need a sync copy.</summary>
    [Id(1)] public bool NeedsSync { get; init; }

    /// <summary>With <see cref="SendStatus.MismatchedDevices"/>: devices the sender left out, ascending.</summary>
    [Id(2)] public IReadOnlyList<int> MissingDevices { get; init; } = [];

    /// <summary>With <see cref="SendStatus.MismatchedDevices"/>: devices named that do not exist, ascending.</summary>
    [Id(3)] public IReadOnlyList<int> ExtraDevices { get; init; } = [];

    /// <summary>With <see cref="SendStatus.StaleDevices"/>: devices whose registration id is stale, ascending.</summary>
    [Id(4)] public IReadOnlyList<int> StaleDevices { get; init; } = [];
}

/// <summary>A stored envelope on its way into a device's inbox: its id and the JSON the device will receive.</summary>
/// <param name="Id">The envelope id.</param>
/// <param name="ServerTimestamp">When the server took it (Unix ms); the expiry counts from here.</param>
/// <param name="Json">
/// The envelope as UTF-8 JSON, serialized once; never mutated. With <paramref name="Body"/>, the envelope with an empty
/// content, which the body fills in.
/// </param>
/// <param name="WakeNow">An offline device is woken at once, past the push coalescing (the send said <c>urgent: true</c>).</param>
/// <param name="Body">A group copy's body, stored once for every device of the send; null for an envelope stored whole.</param>
[GenerateSerializer, Immutable, Alias("InboxEnvelope")]
public sealed record InboxEnvelope(
    [property: Id(0)] Guid Id, [property: Id(1)] long ServerTimestamp, [property: Id(2)] byte[] Json, [property: Id(3)] bool WakeNow = false,
    [property: Id(4)] SharedBody? Body = null);

/// <summary>The body of a group send, stored once (already durable when a device is asked to store its copy) and referred to by every copy.</summary>
/// <param name="Id">The stored body's id.</param>
/// <param name="Offset">Where in the copy's envelope JSON the base64 content goes (between the quotes of <c>"content":""</c>).</param>
/// <param name="Content">The ciphertext, raw: what a device connected now receives without a read.</param>
/// <param name="ExpiresAt">When the stored body expires (Unix ms); a copy never outlives it.</param>
[GenerateSerializer, Immutable, Alias("SharedBody")]
public sealed record SharedBody([property: Id(0)] Guid Id, [property: Id(1)] int Offset, [property: Id(2)] byte[] Content, [property: Id(3)] long ExpiresAt);

/// <summary>What goes down a device's socket.</summary>
public enum FrameKind
{
    /// <summary><c>{"kind":"envelope","envelope":...}</c>; the payload is the envelope JSON.</summary>
    Envelope,

    /// <summary><c>{"kind":"event","event":...}</c>; the payload is the event JSON.</summary>
    Event,

    /// <summary><c>{"kind":"queueEmpty"}</c>: the backlog stored before the connection has been sent.</summary>
    QueueEmpty,

    /// <summary>A whole frame as its payload, written as is: the silo's answer to a request the device made over its socket. Never sent by a grain.</summary>
    Answer,
}

/// <summary>One frame for a device's socket.</summary>
/// <param name="Kind">What the frame is.</param>
/// <param name="Payload">The envelope or event JSON (null for queueEmpty).</param>
/// <param name="Droppable">
/// Whether the socket may drop the frame when the device does not read fast enough: ephemeral envelopes and live events,
/// which the protocol lets a device miss. Stored envelopes are never droppable (they stay in the inbox until acked).
/// </param>
[GenerateSerializer, Immutable, Alias("DeviceFrame")]
public sealed record DeviceFrame([property: Id(0)] FrameKind Kind, [property: Id(1)] byte[]? Payload, [property: Id(2)] bool Droppable = false);

/// <summary>A page of <c>GET /v1/messages</c>.</summary>
[GenerateSerializer, Immutable, Alias("InboxPage")]
public sealed record InboxPage([property: Id(0)] IReadOnlyList<byte[]> Envelopes, [property: Id(1)] bool More);

/// <summary>
/// A device's live socket, as the device's grain sees it: an observer living on the silo that holds the socket.
/// One-way: the grain never waits on a socket.
/// </summary>
[Alias("IDeviceConnection")]
public interface IDeviceConnection : IGrainObserver
{
    /// <summary>Frames to send, in order.</summary>
    [OneWay, Alias("Send")]
    Task SendAsync(IReadOnlyList<DeviceFrame> frames);

    /// <summary>Close the socket with this WebSocket close status (4409: connected elsewhere, 4401: device removed or refused).</summary>
    [OneWay, Alias("Close")]
    Task CloseAsync(int status, string reason);

    /// <summary>
    /// The device's grain is deactivating with this socket attached (its silo is stopping, or Orleans collected it): the
    /// socket's silo attaches it again, which activates the grain anew, rather than wait for its next keep-alive check.
    /// </summary>
    [OneWay, Alias("Detached")]
    Task DetachedAsync();
}

/// <summary>The sending side of a device: deduplicates sends by client message id.</summary>
[Alias("IOutboxGrain")]
public interface IOutboxGrain : IGrainWithStringKey
{
    /// <summary>Sends once per (sender device, destination, client message id) within the idempotency window.</summary>
    [Alias("Send")]
    Task<SendResult> SendAsync(SendRequest request);

    /// <summary>Sends to a group once per (sender device, group, client message id) within the idempotency window.</summary>
    [Alias("SendToGroup")]
    Task<Groups.GroupSendResult> SendToGroupAsync(Groups.GroupSendRequest request);
}
