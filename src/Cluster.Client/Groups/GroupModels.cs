namespace Cluster.Client.Groups;

/// <summary>A group as its members see it.</summary>
/// <param name="GroupId">The server-assigned id (32 lowercase hex digits).</param>
/// <param name="Members">Member account ids, ascending.</param>
/// <param name="Admins">Admin account ids, ascending.</param>
/// <param name="MembershipVersion">Bumped by every membership or admin change.</param>
/// <param name="Info">The opaque encrypted info blob (empty when none).</param>
/// <param name="InfoVersion">Bumped by every info change.</param>
public sealed record GroupInfo(string GroupId, IReadOnlyList<string> Members, IReadOnlyList<string> Admins, long MembershipVersion, byte[] Info, long InfoVersion);

/// <summary>One device of a member, as the sender distributed its sender key to it.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="RegistrationId">Its registration id, as the sender's session knows it.</param>
public sealed record GroupRecipientDevice(int DeviceId, int RegistrationId);

/// <summary>One member account in a group send's view.</summary>
/// <param name="AccountId">The member.</param>
/// <param name="Devices">Its devices (for the sender's own account: every own device but the sender; may be empty).</param>
public sealed record GroupRecipient(string AccountId, IReadOnlyList<GroupRecipientDevice> Devices);

/// <summary>The body of <c>PUT /v1/groups/{groupId}/messages</c>: one sender-key ciphertext for every member device.</summary>
public sealed record GroupMessage
{
    /// <summary>Every member account, each once, with the devices the sender believes it has.</summary>
    public required IReadOnlyList<GroupRecipient> Recipients { get; init; }

    /// <summary>The one ciphertext (a Signal <c>SenderKeyMessage</c>), at most 96 KiB by default.</summary>
    public required byte[] Content { get; init; }

    /// <summary>The client's timestamp (Unix ms), carried to the recipients.</summary>
    public required long Timestamp { get; init; }

    /// <summary>Whether the recipients should be woken for it.</summary>
    public bool Urgent { get; init; } = true;

    /// <summary>Makes retries safe: the same id from the same device to the same group within 24 hours is stored once.</summary>
    public string? ClientMessageId { get; init; }
}

/// <summary>What is wrong with a group send's view of one member account (lists ascending).</summary>
/// <param name="AccountId">The member.</param>
/// <param name="MissingDevices">Its current devices the view left out (409).</param>
/// <param name="ExtraDevices">Devices named that it does not have (409).</param>
/// <param name="StaleDevices">Devices whose registration id is not current (410).</param>
public sealed record GroupAccountDevices(string AccountId, IReadOnlyList<int>? MissingDevices, IReadOnlyList<int>? ExtraDevices, IReadOnlyList<int>? StaleDevices);

/// <summary>
/// A group send refused because its view does not match (409 <c>mismatched_devices</c>) or names stale registration ids
/// (410 <c>stale_devices</c>). Fix the view (distribute the sender key to what is missing; rotate it when members were
/// removed) and send again.
/// </summary>
public sealed class GroupViewMismatchException(
    System.Net.HttpStatusCode status, string error, string message, IReadOnlyList<string> missingMembers, IReadOnlyList<string> unknownMembers, IReadOnlyList<GroupAccountDevices> accounts)
    : ClusterApiException(status, error, message)
{
    /// <summary>Members the view left out.</summary>
    public IReadOnlyList<string> MissingMembers { get; } = missingMembers;

    /// <summary>Accounts in the view that are not members (removed: rotate the sender key).</summary>
    public IReadOnlyList<string> UnknownMembers { get; } = unknownMembers;

    /// <summary>Per member account, the devices that differ.</summary>
    public IReadOnlyList<GroupAccountDevices> Accounts { get; } = accounts;
}

internal sealed record CreateGroupBody(IReadOnlyList<string> Members, byte[]? Info);

internal sealed record GroupMembersBody(IReadOnlyList<string> Members);

internal sealed record GroupList(IReadOnlyList<string> Groups);

internal sealed record GroupSendAnswer(string GroupId);
