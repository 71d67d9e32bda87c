using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Groups;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Groups;
using Cluster.Grains.Messaging;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Authentication;
using Cluster.Silo.Devices;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Groups;

/// <summary>
/// <c>PUT /v1/groups/{groupId}/messages</c>: the gateway checks the request's shape (the view's accounts and devices via
/// <c>Devices/DeviceCopies</c>, the content size of a direct send) and hands it to the sender's outbox grain (the
/// idempotency keys of direct sends) and from there to the group's grain, which checks the view against the current
/// members and devices and fans out. A refusal is answered by <c>Devices/DeviceMismatch</c>. Owns nothing.
/// </summary>
internal static class GroupSendEndpoints
{
    private const int MaxClientMessageIdLength = 128;

    // Room per member account in the view: its id and a full account's devices, with the JSON around them.
    private const int BytesPerRecipient = 512;

    public static void Map(IEndpointRouteBuilder v1) =>
        v1.MapPut("/groups/{groupId}/messages", SendAsync).Operation("sendGroupMessage", "Groups", "Send one sender-key message to every device of every member but this one").Accepts<SendGroupMessageRequest>().Returns<SendGroupMessageResponse>().Errors(400, 403, 404, 409, 410, 413, 429).RequireAuthorization().AddEndpointFilter(GroupLimits.Sends);

    private static async Task<IResult> SendAsync(
        HttpContext context, string groupId, IGrainFactory grains, IOptions<MessagingOptions> messaging, IOptions<GroupOptions> groups)
    {
        var device = context.Device();
        if (!GroupIds.IsValid(groupId))
        {
            throw ApiException.InvalidField("groupId", "must be a group id (32 lowercase hex digits)");
        }

        var maxContentBytes = messaging.Value.MaxContentBytes;
        var maxMembers = groups.Value.MaxMembers;
        JsonBody.LimitBody(context, (long)maxContentBytes * 4 / 3 + (long)maxMembers * BytesPerRecipient + 16 * 1024);
        var body = await JsonBody.ReadAsync(context, ProtocolJson.Default.SendGroupMessageRequest);
        var content = body.Content ?? throw ApiException.MissingField("content");
        if (content.Length == 0)
        {
            throw ApiException.InvalidField("content", "must not be empty");
        }

        if (content.Length > maxContentBytes)
        {
            throw new ApiException(StatusCodes.Status413PayloadTooLarge, "content_too_large", $"content: over {maxContentBytes} bytes", "content");
        }

        var request = new GroupSendRequest
        {
            Sender = device.Address,
            SenderIncarnation = device.Credential.Incarnation,
            GroupId = groupId,
            Recipients = ValidateRecipients(body.Recipients, maxMembers),
            Content = content,
            Timestamp = body.Timestamp is { } timestamp && timestamp >= 0 ? timestamp : throw (body.Timestamp is null
                ? ApiException.MissingField("timestamp")
                : ApiException.InvalidField("timestamp", "must be Unix milliseconds")),
            Urgent = body.Urgent ?? true,
            WakeNow = body.Urgent == true,
            ClientMessageId = body.ClientMessageId is { Length: 0 or > MaxClientMessageIdLength }
                ? throw ApiException.InvalidField("clientMessageId", $"must be 1..{MaxClientMessageIdLength} characters")
                : body.ClientMessageId,
        };

        var result = await grains.GetGrain<IOutboxGrain>(device.Address.GrainKey).SendToGroupAsync(request);
        return result.Status switch
        {
            GroupSendStatus.Sent => Results.Json(new SendGroupMessageResponse(groupId), ProtocolJson.Default.SendGroupMessageResponse),
            GroupSendStatus.NotFound => throw ApiException.NotFound("group"),
            GroupSendStatus.NotMember => throw new ApiException(StatusCodes.Status403Forbidden, "not_a_member", "this account is not a member of the group"),
            GroupSendStatus.MismatchedDevices => DeviceMismatch.GroupMismatched(
                result.MissingMembers, result.UnknownMembers, [.. result.Accounts.Select(a => new AccountDeviceMismatch(a.AccountId, a.MissingDevices, a.ExtraDevices))]),
            _ => DeviceMismatch.GroupStale([.. result.Accounts.Select(a => new AccountStaleDevices(a.AccountId, a.StaleDevices))]),
        };
    }

    private static List<GroupRecipient> ValidateRecipients(List<GroupRecipientDto?>? recipients, int maxMembers)
    {
        if (recipients is null)
        {
            throw ApiException.MissingField("recipients");
        }

        if (recipients.Count > maxMembers)
        {
            throw ApiException.InvalidField("recipients", $"a group has at most {maxMembers} members");
        }

        var valid = new List<GroupRecipient>(recipients.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < recipients.Count; i++)
        {
            var field = $"recipients[{i}]";
            var recipient = recipients[i] ?? throw ApiException.InvalidField(field, "must be an object");
            var accountId = recipient.AccountId ?? throw ApiException.MissingField($"{field}.accountId");
            if (!AccountIds.IsValid(accountId))
            {
                throw ApiException.InvalidField($"{field}.accountId", "must be an E.164 number");
            }

            if (!seen.Add(accountId))
            {
                throw ApiException.InvalidField($"{field}.accountId", $"account {accountId} is named twice");
            }

            var devices = DeviceCopies.Validate(
                recipient.Devices, $"{field}.devices", static d => d.DeviceId, static d => d.RegistrationId, static (_, _, deviceId, registrationId) => (deviceId, registrationId));
            valid.Add(new GroupRecipient(accountId, [.. devices.Select(d => d.deviceId)], [.. devices.Select(d => d.registrationId)]));
        }

        return valid;
    }
}
