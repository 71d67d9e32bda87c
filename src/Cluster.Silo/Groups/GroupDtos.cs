// The wire shapes of /v1/groups; no logic. Changing one changes the protocol (docs/protocol.md).

namespace Cluster.Silo.Groups;

/// <summary><c>POST /v1/groups</c>: the other members (the creator is added) and the encrypted info (optional).</summary>
public sealed class CreateGroupRequest
{
    public List<string?>? Members { get; set; }

    public byte[]? Info { get; set; }
}

/// <summary><c>POST /v1/groups/{groupId}/members</c>.</summary>
public sealed class AddGroupMembersRequest
{
    public List<string?>? Members { get; set; }
}

/// <summary><c>PUT /v1/groups/{groupId}/info</c>: the new encrypted info, built on <see cref="ExpectedVersion"/>.</summary>
public sealed class SetGroupInfoRequest
{
    public byte[]? Info { get; set; }

    public long? ExpectedVersion { get; set; }
}

/// <summary>A group as its members see it.</summary>
public sealed record GroupResponse(
    string GroupId, IReadOnlyList<string> Members, IReadOnlyList<string> Admins, long MembershipVersion, byte[] Info, long InfoVersion);

/// <summary><c>GET /v1/groups</c>: the ids of the groups the account is in.</summary>
public sealed record GroupListResponse(IReadOnlyList<string> Groups);
