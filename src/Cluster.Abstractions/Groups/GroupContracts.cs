namespace Cluster.Abstractions.Groups;

/// <summary>The outcome of an action on a group.</summary>
public enum GroupStatus
{
    /// <summary>Done (or already so: adding a member twice, promoting an admin).</summary>
    Done,

    /// <summary>No such group (never created, or every member left): 404.</summary>
    NotFound,

    /// <summary>The acting account is not a member: 403 <c>not_a_member</c>.</summary>
    NotMember,

    /// <summary>The action needs an admin and the acting account is not one: 403 <c>not_an_admin</c>.</summary>
    NotAdmin,

    /// <summary>An account named as a new member does not exist: 404 naming it.</summary>
    UnknownAccount,

    /// <summary>The account named as the target is not a member: 404 <c>not_found</c> (member).</summary>
    NoSuchMember,

    /// <summary>The group would pass its member cap: 409 <c>group_full</c>.</summary>
    Full,

    /// <summary>The info's expected version is not the current one: 409 <c>info_version_conflict</c>.</summary>
    InfoVersionConflict,

    /// <summary>The last admin may not demote themselves or leave while other members remain and none is admin: 409 <c>last_admin</c>.</summary>
    LastAdmin,
}

/// <summary>A group as its members see it.</summary>
[GenerateSerializer, Immutable, Alias("GroupView")]
public sealed record GroupView
{
    /// <summary>The group id.</summary>
    [Id(0)] public required string GroupId { get; init; }

    /// <summary>Member account ids, ascending (ordinal).</summary>
    [Id(1)] public required IReadOnlyList<string> Members { get; init; }

    /// <summary>Admin account ids, ascending (ordinal); a subset of <see cref="Members"/>.</summary>
    [Id(2)] public required IReadOnlyList<string> Admins { get; init; }

    /// <summary>Bumped by every membership or admin change.</summary>
    [Id(3)] public required long MembershipVersion { get; init; }

    /// <summary>The opaque encrypted group info (name, picture), as the clients wrote it; empty when none.</summary>
    [Id(4)] public required byte[] Info { get; init; }

    /// <summary>Bumped by every info change; 0 before the first.</summary>
    [Id(5)] public required long InfoVersion { get; init; }
}

/// <summary>The answer of a group action: the outcome and, when <see cref="GroupStatus.Done"/>, the group after it.</summary>
[GenerateSerializer, Immutable, Alias("GroupResult")]
public sealed record GroupResult
{
    /// <summary>The outcome.</summary>
    [Id(0)] public required GroupStatus Status { get; init; }

    /// <summary>The group after the action (only with <see cref="GroupStatus.Done"/>, and null after the last member left).</summary>
    [Id(1)] public GroupView? Group { get; init; }

    /// <summary>With <see cref="GroupStatus.UnknownAccount"/>: the account that does not exist.</summary>
    [Id(2)] public string? Account { get; init; }

    /// <summary>A plain answer with no group.</summary>
    public static GroupResult Of(GroupStatus status) => new() { Status = status };
}
