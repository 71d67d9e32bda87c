namespace Cluster.Abstractions.Groups;

/// <summary>The sender's view of one member account in a group send: the devices it encrypted the sender key for.</summary>
/// <param name="AccountId">The member account.</param>
/// <param name="DeviceIds">Its devices as the sender believes them (for the sender's own account: every device but the sender).</param>
/// <param name="RegistrationIds">The registration id of each device, in the same order.</param>
[GenerateSerializer, Immutable, Alias("GroupRecipient")]
public sealed record GroupRecipient(
    [property: Id(0)] string AccountId,
    [property: Id(1)] int[] DeviceIds,
    [property: Id(2)] int[] RegistrationIds);

/// <summary>A group send, checked for shape by the gateway: one sender-key ciphertext and the sender's view of the members.</summary>
[GenerateSerializer, Immutable, Alias("GroupSendRequest")]
public sealed record GroupSendRequest
{
    /// <summary>The sending device.</summary>
    [Id(0)] public required DeviceAddress Sender { get; init; }

    /// <summary>The sending device's incarnation (idempotency keys are per incarnation, as for direct sends).</summary>
    [Id(1)] public Guid SenderIncarnation { get; init; }

    /// <summary>The group.</summary>
    [Id(2)] public required string GroupId { get; init; }

    /// <summary>The sender's view: one entry per member account, each account once.</summary>
    [Id(3)] public required IReadOnlyList<GroupRecipient> Recipients { get; init; }

    /// <summary>The one ciphertext (a Signal <c>SenderKeyMessage</c>), opaque to the server.</summary>
    [Id(4)] public required byte[] Content { get; init; }

    /// <summary>The client's timestamp (Unix ms).</summary>
    [Id(5)] public required long Timestamp { get; init; }

    /// <summary>Whether the message is urgent (wakes the devices).</summary>
    [Id(6)] public bool Urgent { get; init; } = true;

    /// <summary>The sender set <c>urgent: true</c> explicitly: offline devices are woken at once.</summary>
    [Id(7)] public bool WakeNow { get; init; }

    /// <summary>The client's idempotency key, or null.</summary>
    [Id(8)] public string? ClientMessageId { get; init; }

    /// <summary>Whose idempotency keys <see cref="ClientMessageId"/> belongs to (as <c>SendRequest.IdempotencyScope</c>).</summary>
    public string IdempotencyScope => SenderIncarnation == Guid.Empty ? Sender.GrainKey : $"{Sender.GrainKey}/{SenderIncarnation:N}";

    /// <summary>The destination key of the idempotency receipts: a group never collides with an account id (which starts with +).</summary>
    public string ReceiptDestination => $"group:{GroupId}";
}

/// <summary>The outcome of a group send.</summary>
public enum GroupSendStatus
{
    /// <summary>Every copy is durably stored in its device's inbox.</summary>
    Sent,

    /// <summary>No such group: 404.</summary>
    NotFound,

    /// <summary>The sender's account is not a member: 403 <c>not_a_member</c>.</summary>
    NotMember,

    /// <summary>The view misses or adds members, or devices of a member: 409 <c>mismatched_devices</c>.</summary>
    MismatchedDevices,

    /// <summary>The members and devices match, but some registration ids are stale: 410 <c>stale_devices</c>.</summary>
    StaleDevices,
}

/// <summary>What is wrong with the sender's view of one member account; lists ascending.</summary>
[GenerateSerializer, Immutable, Alias("GroupAccountMismatch")]
public sealed record GroupAccountMismatch(
    [property: Id(0)] string AccountId,
    [property: Id(1)] int[] MissingDevices,
    [property: Id(2)] int[] ExtraDevices,
    [property: Id(3)] int[] StaleDevices);

/// <summary>The answer of a group send.</summary>
[GenerateSerializer, Immutable, Alias("GroupSendResult")]
public sealed record GroupSendResult
{
    /// <summary>The outcome.</summary>
    [Id(0)] public required GroupSendStatus Status { get; init; }

    /// <summary>With <see cref="GroupSendStatus.MismatchedDevices"/> or <see cref="GroupSendStatus.StaleDevices"/>: per member account (ascending), what is wrong.</summary>
    [Id(1)] public IReadOnlyList<GroupAccountMismatch> Accounts { get; init; } = [];

    /// <summary>With <see cref="GroupSendStatus.MismatchedDevices"/>: members the view left out, ascending.</summary>
    [Id(2)] public IReadOnlyList<string> MissingMembers { get; init; } = [];

    /// <summary>With <see cref="GroupSendStatus.MismatchedDevices"/>: accounts in the view that are not members, ascending.</summary>
    [Id(3)] public IReadOnlyList<string> UnknownMembers { get; init; } = [];

    /// <summary>With <see cref="GroupSendStatus.Sent"/>: the membership version the send was checked against.</summary>
    [Id(4)] public long MembershipVersion { get; init; }

    /// <summary>With <see cref="GroupSendStatus.Sent"/>: how many device copies were stored.</summary>
    [Id(5)] public int Copies { get; init; }

    /// <summary>A plain answer.</summary>
    public static GroupSendResult Of(GroupSendStatus status) => new() { Status = status };
}
