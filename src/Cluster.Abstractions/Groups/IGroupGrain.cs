using Orleans.Concurrency;

namespace Cluster.Abstractions.Groups;

/// <summary>
/// One group (key: its server-assigned group id): members (account ids), admins, a membership version and an opaque
/// encrypted info blob with its version. Rights: any member fetches and leaves; admins add, remove, promote, demote and
/// change the info; the creator starts as the only admin. Every change tells every member device <c>groupChanged</c>.
/// </summary>
[Alias("IGroupGrain")]
public interface IGroupGrain : IGrainWithStringKey
{
    /// <summary>Creates the group with <paramref name="creator"/> as admin and <paramref name="members"/> (the creator added if absent). A fresh id only.</summary>
    [Alias("Create")]
    Task<GroupResult> CreateAsync(string creator, IReadOnlyList<string> members, byte[] info);

    /// <summary>The group, for a member.</summary>
    [Alias("Get")]
    Task<GroupResult> GetAsync(string actor);

    /// <summary>An admin adds members (existing accounts; members already in are ignored).</summary>
    [Alias("AddMembers")]
    Task<GroupResult> AddMembersAsync(string actor, IReadOnlyList<string> members);

    /// <summary>An admin removes a member (themselves included: that is a leave).</summary>
    [Alias("RemoveMember")]
    Task<GroupResult> RemoveMemberAsync(string actor, string member);

    /// <summary>A member leaves.</summary>
    [Alias("Leave")]
    Task<GroupResult> LeaveAsync(string actor);

    /// <summary>An admin makes a member admin (<paramref name="admin"/> true) or not.</summary>
    [Alias("SetAdmin")]
    Task<GroupResult> SetAdminAsync(string actor, string member, bool admin);

    /// <summary>An admin replaces the info blob; <paramref name="expectedVersion"/> must be the current info version.</summary>
    [Alias("SetInfo")]
    Task<GroupResult> SetInfoAsync(string actor, byte[] info, long expectedVersion);

    /// <summary>
    /// A system action (account deletion): removes <paramref name="member"/> with no rights check, as a leave would;
    /// a group left without admins makes its longest-standing member admin. No-op when not a member.
    /// </summary>
    [Alias("RemoveBySystem")]
    Task RemoveBySystemAsync(string member);
}

/// <summary>
/// The groups one account is a member of (key: the account id), kept by the group grains as they add and remove it, so
/// that account deletion can find every group to leave (<see cref="IGroupGrain.RemoveBySystemAsync"/>).
/// </summary>
[Alias("IAccountGroupsGrain")]
public interface IAccountGroupsGrain : IGrainWithStringKey
{
    /// <summary>Records membership of <paramref name="groupId"/> (idempotent).</summary>
    [Alias("Joined")]
    Task JoinedAsync(string groupId);

    /// <summary>Forgets <paramref name="groupId"/> (idempotent).</summary>
    [Alias("Left")]
    Task LeftAsync(string groupId);

    /// <summary>The group ids, ascending.</summary>
    [Alias("GetGroups"), ReadOnly]
    Task<IReadOnlyList<string>> GetGroupsAsync();
}
