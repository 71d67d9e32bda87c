using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Groups;
using Cluster.Grains.Groups;
using Cluster.Silo.Authentication;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Groups;

/// <summary>
/// <c>/v1/groups</c>: the gateway checks each request's shape (ids, account ids, sizes) and leaves every decision about
/// rights and membership to the group's <see cref="IGroupGrain"/>. Owns nothing.
/// </summary>
internal static class GroupEndpoints
{
    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPost("/groups", CreateAsync).Operation("createGroup", "Groups", "Create a group with this account as its admin").Accepts<CreateGroupRequest>().Returns<GroupResponse>(201).Errors(404, 409, 429).RequireAuthorization().AddEndpointFilter(GroupLimits.Changes);
        v1.MapGet("/groups", ListAsync).Operation("listGroups", "Groups", "The ids of the groups this account is a member of").Returns<GroupListResponse>().Errors().RequireAuthorization();
        v1.MapGet("/groups/{groupId}", GetAsync).Operation("getGroup", "Groups", "A group's members, admins and encrypted info (members only)").Returns<GroupResponse>().Errors(400, 403, 404).RequireAuthorization();
        v1.MapPost("/groups/{groupId}/members", AddMembersAsync).Operation("addGroupMembers", "Groups", "Add members (admins only)").Accepts<AddGroupMembersRequest>().Returns<GroupResponse>().Errors(403, 404, 409, 429).RequireAuthorization().AddEndpointFilter(GroupLimits.Changes);
        v1.MapDelete("/groups/{groupId}/members/{accountId}", RemoveMemberAsync).Operation("removeGroupMember", "Groups", "Remove a member (admins only); 204 when the group ends with it").Returns<GroupResponse>().ReturnsNothing().Errors(400, 403, 404, 409, 429).RequireAuthorization().AddEndpointFilter(GroupLimits.Changes);
        v1.MapPost("/groups/{groupId}/leave", LeaveAsync).Operation("leaveGroup", "Groups", "Leave a group; 204 when the group ends with it").Returns<GroupResponse>().ReturnsNothing().Errors(400, 403, 404, 409, 429).RequireAuthorization().AddEndpointFilter(GroupLimits.Changes);
        v1.MapPut("/groups/{groupId}/admins/{accountId}", PromoteAsync).Operation("promoteGroupAdmin", "Groups", "Make a member an admin (admins only)").Returns<GroupResponse>().Errors(400, 403, 404, 409, 429).RequireAuthorization().AddEndpointFilter(GroupLimits.Changes);
        v1.MapDelete("/groups/{groupId}/admins/{accountId}", DemoteAsync).Operation("demoteGroupAdmin", "Groups", "Take a member's admin right (admins only)").Returns<GroupResponse>().Errors(400, 403, 404, 409, 429).RequireAuthorization().AddEndpointFilter(GroupLimits.Changes);
        v1.MapPut("/groups/{groupId}/info", SetInfoAsync).Operation("setGroupInfo", "Groups", "Replace the encrypted group info at an expected version (admins only)").Accepts<SetGroupInfoRequest>().Returns<GroupResponse>().Errors(403, 404, 409, 429).RequireAuthorization().AddEndpointFilter(GroupLimits.Changes);
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IGrainFactory grains, IOptions<GroupOptions> options)
    {
        var limits = options.Value;
        JsonBody.LimitBody(context, (long)limits.MaxInfoBytes * 4 / 3 + (long)limits.MaxMembers * 64 + 16 * 1024);
        var body = await JsonBody.ReadAsync(context, ProtocolJson.Default.CreateGroupRequest);
        var members = ValidateMembers(body.Members, limits.MaxMembers);
        var info = ValidateInfo(body.Info ?? [], limits.MaxInfoBytes, allowEmpty: true);
        var groupId = GroupIds.New();
        var result = await grains.GetGrain<IGroupGrain>(groupId).CreateAsync(context.Device().Address.AccountId, members, info);
        return Outcome(result, StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IGrainFactory grains)
    {
        var groups = await grains.GetGrain<IAccountGroupsGrain>(context.Device().Address.AccountId).GetGroupsAsync();
        return Results.Json(new GroupListResponse(groups), ProtocolJson.Default.GroupListResponse);
    }

    private static async Task<IResult> GetAsync(HttpContext context, string groupId, IGrainFactory grains) =>
        Outcome(await Group(grains, groupId).GetAsync(Actor(context)));

    private static async Task<IResult> AddMembersAsync(HttpContext context, string groupId, IGrainFactory grains, IOptions<GroupOptions> options)
    {
        var group = Group(grains, groupId);
        JsonBody.LimitBody(context, (long)options.Value.MaxMembers * 64 + 16 * 1024);
        var body = await JsonBody.ReadAsync(context, ProtocolJson.Default.AddGroupMembersRequest);
        var members = ValidateMembers(body.Members, options.Value.MaxMembers);
        if (members.Count == 0)
        {
            throw ApiException.InvalidField("members", "must name at least one account");
        }

        return Outcome(await group.AddMembersAsync(Actor(context), members));
    }

    private static async Task<IResult> RemoveMemberAsync(HttpContext context, string groupId, string accountId, IGrainFactory grains) =>
        Outcome(await Group(grains, groupId).RemoveMemberAsync(Actor(context), Account(accountId)), StatusCodes.Status200OK, allowEnded: true);

    private static async Task<IResult> LeaveAsync(HttpContext context, string groupId, IGrainFactory grains) =>
        Outcome(await Group(grains, groupId).LeaveAsync(Actor(context)), StatusCodes.Status200OK, allowEnded: true);

    private static async Task<IResult> PromoteAsync(HttpContext context, string groupId, string accountId, IGrainFactory grains) =>
        Outcome(await Group(grains, groupId).SetAdminAsync(Actor(context), Account(accountId), admin: true));

    private static async Task<IResult> DemoteAsync(HttpContext context, string groupId, string accountId, IGrainFactory grains) =>
        Outcome(await Group(grains, groupId).SetAdminAsync(Actor(context), Account(accountId), admin: false));

    private static async Task<IResult> SetInfoAsync(HttpContext context, string groupId, IGrainFactory grains, IOptions<GroupOptions> options)
    {
        var group = Group(grains, groupId);
        JsonBody.LimitBody(context, (long)options.Value.MaxInfoBytes * 4 / 3 + 16 * 1024);
        var body = await JsonBody.ReadAsync(context, ProtocolJson.Default.SetGroupInfoRequest);
        var info = ValidateInfo(body.Info ?? throw ApiException.MissingField("info"), options.Value.MaxInfoBytes, allowEmpty: false);
        var expected = body.ExpectedVersion ?? throw ApiException.MissingField("expectedVersion");
        return Outcome(await group.SetInfoAsync(Actor(context), info, expected));
    }

    private static string Actor(HttpContext context) => context.Device().Address.AccountId;

    private static IGroupGrain Group(IGrainFactory grains, string groupId) => GroupIds.IsValid(groupId)
        ? grains.GetGrain<IGroupGrain>(groupId)
        : throw ApiException.InvalidField("groupId", "must be a group id (32 lowercase hex digits)");

    private static string Account(string accountId) => AccountIds.IsValid(accountId)
        ? accountId
        : throw ApiException.InvalidField("accountId", "must be an E.164 number");

    private static List<string> ValidateMembers(List<string?>? members, int maxMembers)
    {
        if (members is null)
        {
            throw ApiException.MissingField("members");
        }

        if (members.Count > maxMembers)
        {
            throw new ApiException(StatusCodes.Status409Conflict, "group_full", $"members: a group has at most {maxMembers} members", "members");
        }

        var checkedMembers = new List<string>(members.Count);
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[i];
            if (!AccountIds.IsValid(member))
            {
                throw ApiException.InvalidField($"members[{i}]", "must be an E.164 number");
            }

            checkedMembers.Add(member!);
        }

        return checkedMembers;
    }

    private static byte[] ValidateInfo(byte[] info, int maxInfoBytes, bool allowEmpty)
    {
        if (info.Length == 0 && !allowEmpty)
        {
            throw ApiException.InvalidField("info", "must not be empty");
        }

        return info.Length <= maxInfoBytes
            ? info
            : throw new ApiException(StatusCodes.Status413PayloadTooLarge, "payload_too_large", $"info: over {maxInfoBytes} bytes", "info");
    }

    private static IResult Outcome(GroupResult result, int doneStatus = StatusCodes.Status200OK, bool allowEnded = false) => result.Status switch
    {
        GroupStatus.Done when result.Group is { } g => Results.Json(
            new GroupResponse(g.GroupId, g.Members, g.Admins, g.MembershipVersion, g.Info, g.InfoVersion), ProtocolJson.Default.GroupResponse, statusCode: doneStatus),
        GroupStatus.Done when allowEnded => Results.NoContent(),
        GroupStatus.NotFound => throw ApiException.NotFound("group"),
        GroupStatus.NotMember => throw new ApiException(StatusCodes.Status403Forbidden, "not_a_member", "this account is not a member of the group"),
        GroupStatus.NotAdmin => throw new ApiException(StatusCodes.Status403Forbidden, "not_an_admin", "only a group admin may do this"),
        GroupStatus.UnknownAccount => throw new ApiException(StatusCodes.Status404NotFound, "unknown_account", $"account {result.Account} not found", "members"),
        GroupStatus.NoSuchMember => throw ApiException.NotFound("member"),
        GroupStatus.Full => throw new ApiException(StatusCodes.Status409Conflict, "group_full", "the group would have more members than allowed"),
        GroupStatus.InfoVersionConflict => throw new ApiException(StatusCodes.Status409Conflict, "info_version_conflict", "expectedVersion is not the group info's current version", "expectedVersion"),
        GroupStatus.TooManyGroups => throw new ApiException(
            StatusCodes.Status409Conflict, "too_many_groups", $"account {result.Account} is in the most groups an account may be in", "members"),
        GroupStatus.LastAdmin => throw new ApiException(StatusCodes.Status409Conflict, "last_admin", "the group's last admin cannot be demoted; promote another member first"),
        _ => throw new InvalidOperationException($"unexpected group status {result.Status}"),
    };
}
