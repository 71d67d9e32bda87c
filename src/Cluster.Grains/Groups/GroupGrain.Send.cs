using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Groups;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;

namespace Cluster.Grains.Groups;

/// <summary>
/// Group send: checks the sender's view against the members and each member's devices as their account grains hold them
/// now (no copy of the device lists is kept here, so a link or unlink is seen by the very next send), then stores the
/// content once (<see cref="IGroupBodyStore"/>) and one inbox row per device of every member but the sending device,
/// each referring to it, and answers once all are durable. Runs in turn with the
/// membership calls (the grain is not reentrant), which is what keeps a removed member out of every send answered after
/// the removal. Owns no fields.
/// </summary>
internal sealed partial class GroupGrain
{
    private static readonly KeyValuePair<string, object?> OutcomeSent = new("outcome", "sent");
    private static readonly KeyValuePair<string, object?> OutcomeNotMember = new("outcome", "not_member");
    private static readonly KeyValuePair<string, object?> OutcomeMismatched = new("outcome", "mismatched");
    private static readonly KeyValuePair<string, object?> OutcomeStale = new("outcome", "stale");
    private static readonly KeyValuePair<string, object?> OutcomeNotFound = new("outcome", "not_found");

    public async Task<GroupSendResult> SendAsync(GroupSendRequest request)
    {
        if (!Group.Exists)
        {
            ClusterMetrics.GroupSends.Add(1, OutcomeNotFound);
            DeactivateSoonIfAbsent();
            return GroupSendResult.Of(GroupSendStatus.NotFound);
        }

        var sender = request.Sender;
        if (!IsMember(sender.AccountId))
        {
            ClusterMetrics.GroupSends.Add(1, OutcomeNotMember);
            return GroupSendResult.Of(GroupSendStatus.NotMember);
        }

        var members = Group.Members.Order(StringComparer.Ordinal).ToArray();
        var sets = await Task.WhenAll(members.Select(m => GrainFactory.Get<IAccountGrain>(m).GetDeviceSetForAsync(sender.AccountId)));
        if (CheckView(request, members, sets) is { } refusal)
        {
            ClusterMetrics.GroupSends.Add(1, refusal.Status == GroupSendStatus.StaleDevices ? OutcomeStale : OutcomeMismatched);
            return refusal;
        }

        var copies = await FanOutAsync(request, members, sets);
        ClusterMetrics.GroupSends.Add(1, OutcomeSent);
        ClusterMetrics.GroupCopiesStored.Add(copies);
        return new GroupSendResult { Status = GroupSendStatus.Sent, MembershipVersion = Group.MembershipVersion, Copies = copies };
    }

    /// <summary>Null when the view names exactly the members and each one's current devices; otherwise the 409 (set differs) or the 410 (only registration ids).</summary>
    private static GroupSendResult? CheckView(GroupSendRequest request, string[] members, DeviceSet[] sets)
    {
        var view = new Dictionary<string, GroupRecipient>(request.Recipients.Count, StringComparer.Ordinal);
        foreach (var recipient in request.Recipients)
        {
            view[recipient.AccountId] = recipient;
        }

        var missingMembers = new List<string>();
        var mismatched = new List<GroupAccountMismatch>();
        var stale = new List<GroupAccountMismatch>();
        for (var i = 0; i < members.Length; i++)
        {
            if (!view.Remove(members[i], out var recipient))
            {
                missingMembers.Add(members[i]);
                continue;
            }

            var indexes = Enumerable.Range(0, recipient.DeviceIds.Length).ToArray();
            var coverage = DeviceCoverage.Check(sets[i], request.Sender, members[i], indexes, j => (recipient.DeviceIds[j], recipient.RegistrationIds[j]));
            if (coverage is { IsMismatch: true })
            {
                mismatched.Add(new GroupAccountMismatch(members[i], coverage.MissingDevices, coverage.ExtraDevices, []));
            }
            else if (coverage is not null)
            {
                stale.Add(new GroupAccountMismatch(members[i], [], [], coverage.StaleDevices));
            }
        }

        if (missingMembers.Count > 0 || view.Count > 0 || mismatched.Count > 0)
        {
            return new GroupSendResult
            {
                Status = GroupSendStatus.MismatchedDevices,
                Accounts = mismatched,
                MissingMembers = missingMembers,
                UnknownMembers = [.. view.Keys.Order(StringComparer.Ordinal)],
            };
        }

        return stale.Count > 0 ? new GroupSendResult { Status = GroupSendStatus.StaleDevices, Accounts = stale } : null;
    }

    /// <summary>
    /// Stores the body once, then one enqueue per device of every member but the sending device, in parallel, each row
    /// referring to the body; seals the body once every copy is durable, and answers the number of copies.
    /// </summary>
    /// <remarks>
    /// The body is stored (unsealed) before any copy, so no copy ever refers to a missing body, and it stays unsealed
    /// until the last copy is durable, so a device that acks early cannot take it away from a copy still being stored.
    /// Its id derives from the send's idempotency key like the copies' ids, so a retry after a crash stores it once.
    /// A send that fails half way leaves it unsealed: kept until it expires, or sealed by the retry.
    /// </remarks>
    private async Task<int> FanOutAsync(GroupSendRequest request, string[] members, DeviceSet[] sets)
    {
        var sender = request.Sender;
        var now = time.GetUtcNow();
        var serverTimestamp = now.ToUnixTimeMilliseconds();
        var targets = new List<(string AccountId, int DeviceId)>();
        for (var i = 0; i < members.Length; i++)
        {
            foreach (var deviceId in sets[i].DeviceIds)
            {
                if (members[i] != sender.AccountId || deviceId != sender.DeviceId)
                {
                    targets.Add((members[i], deviceId));
                }
            }
        }

        if (targets.Count == 0)
        {
            return 0;
        }

        var bodyId = request.ClientMessageId is { } key
            ? MessageSender.IdempotentEnvelopeId(request.IdempotencyScope, $"{request.ReceiptDestination}/body", key, 0)
            : Guid.CreateVersion7(now);
        var expiresAt = serverTimestamp + (long)messaging.Value.InboxTimeToLive.TotalMilliseconds;
        await bodies.StoreBodyAsync(new GroupBody(bodyId, expiresAt, request.Content));
        ClusterMetrics.GroupBodiesStored.Add(1);
        ClusterMetrics.GroupBodyBytesStored.Add(request.Content.Length);
        var body = new SharedBody(bodyId, 0, request.Content, expiresAt);

        var deliveries = new Task[targets.Count];
        for (var i = 0; i < deliveries.Length; i++)
        {
            var (accountId, deviceId) = targets[i];
            var id = request.ClientMessageId is { } clientMessageId
                ? MessageSender.IdempotentEnvelopeId(request.IdempotencyScope, $"{request.ReceiptDestination}/{accountId}", clientMessageId, deviceId)
                : Guid.CreateVersion7(now);
            var head = EnvelopeJson.Write(
                id, EnvelopeJson.SenderKeyType, sender.AccountId, sender.DeviceId, deviceId, request.Timestamp, serverTimestamp, [], request.Urgent, GroupId);
            var device = GrainFactory.Get<IDeviceGrain>(new DeviceAddress(accountId, deviceId).GrainKey);
            deliveries[i] = device.EnqueueAsync([new InboxEnvelope(id, serverTimestamp, head, request.WakeNow, body with { Offset = EnvelopeJson.ContentOffset(head) })]);
        }

        await Task.WhenAll(deliveries);
        await bodies.SealBodyAsync(bodyId);
        return deliveries.Length;
    }
}
