using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Groups;
using Cluster.Abstractions.Messaging;
using Cluster.Grains;
using Cluster.Grains.Groups;
using Cluster.Grains.Messaging;
using Cluster.Silo.Devices;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Groups;

/// <summary>
/// The one path of <c>PUT /v1/groups/{groupId}/messages</c>, whether it came over HTTP (<see cref="GroupSendEndpoints"/>)
/// or over the device socket (<c>Messaging/SocketRequests</c>, type <c>sendGroupMessage</c>): the device's group send
/// limit (<see cref="GroupLimits"/>) first, then the group id, then the body's shape (the view's accounts and devices via
/// <c>Devices/DeviceCopies</c>, the content size of a direct send); then the sender's outbox grain (the idempotency keys
/// of direct sends, so a retry on either transport stores nothing twice) hands it to the group's grain, which checks the
/// view against the current members and devices and fans out. The answer comes once every row is durable; a refusal is
/// answered by <c>Devices/DeviceMismatch</c>. Owns no state; refusals of the input are thrown as <see cref="ApiException"/>.
/// </summary>
internal sealed class GroupSends(IGrainFactory grains, IOptions<MessagingOptions> messaging, IOptions<GroupOptions> groups, GroupLimits limits)
{
    private const int MaxClientMessageIdLength = 128;

    // Room per member account in the view: its id and a full account's devices, with the JSON around them.
    private const int BytesPerRecipient = 512;

    private readonly int maxContentBytes = messaging.Value.MaxContentBytes;
    private readonly int maxMembers = groups.Value.MaxMembers;

    /// <summary>The largest body a group send may have: the content base64-encoded and a view of a full group.</summary>
    public long MaxBodyBytes { get; } = (long)messaging.Value.MaxContentBytes * 4 / 3 + (long)groups.Value.MaxMembers * BytesPerRecipient + 16 * 1024;

    /// <summary>Sends one group message of <paramref name="device"/> (in its account's current <paramref name="credential"/>): 200 once every row is durable, or the refusal.</summary>
    public async Task<Answer> SendAsync(DeviceAddress device, DeviceCredential credential, string? groupId, JsonRequestBody body)
    {
        if (limits.TrySend(device) is { } refusal)
        {
            return refusal.ToAnswer();
        }

        if (groupId is null)
        {
            throw ApiException.MissingField("groupId");
        }

        if (!GroupIds.IsValid(groupId))
        {
            throw ApiException.InvalidField("groupId", "must be a group id (32 lowercase hex digits)");
        }

        var message = await body.ReadAsync(ProtocolJson.Default.SendGroupMessageRequest, MaxBodyBytes);
        var content = message.Content ?? throw ApiException.MissingField("content");
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
            Sender = device,
            SenderIncarnation = credential.Incarnation,
            GroupId = groupId,
            Recipients = ValidateRecipients(message.Recipients),
            Content = content,
            Timestamp = message.Timestamp is { } timestamp && timestamp >= 0 ? timestamp : throw (message.Timestamp is null
                ? ApiException.MissingField("timestamp")
                : ApiException.InvalidField("timestamp", "must be Unix milliseconds")),
            Urgent = message.Urgent ?? true,
            WakeNow = message.Urgent == true,
            ClientMessageId = message.ClientMessageId is { Length: 0 or > MaxClientMessageIdLength }
                ? throw ApiException.InvalidField("clientMessageId", $"must be 1..{MaxClientMessageIdLength} characters")
                : message.ClientMessageId,
        };

        var result = await grains.Get<IOutboxGrain>(device.GrainKey).SendToGroupAsync(request);
        return result.Status switch
        {
            GroupSendStatus.Sent => Answer.Json(StatusCodes.Status200OK, new SendGroupMessageResponse(groupId), ProtocolJson.Default.SendGroupMessageResponse),
            GroupSendStatus.NotFound => throw ApiException.NotFound("group"),
            GroupSendStatus.NotMember => throw new ApiException(StatusCodes.Status403Forbidden, "not_a_member", "this account is not a member of the group"),
            GroupSendStatus.MismatchedDevices => DeviceMismatch.GroupMismatchedAnswer(
                result.MissingMembers, result.UnknownMembers, [.. result.Accounts.Select(a => new AccountDeviceMismatch(a.AccountId, a.MissingDevices, a.ExtraDevices))]),
            _ => DeviceMismatch.GroupStaleAnswer([.. result.Accounts.Select(a => new AccountStaleDevices(a.AccountId, a.StaleDevices))]),
        };
    }

    private List<GroupRecipient> ValidateRecipients(List<GroupRecipientDto?>? recipients)
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
