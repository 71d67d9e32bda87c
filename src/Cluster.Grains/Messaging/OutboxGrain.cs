using Cluster.Abstractions.Groups;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Cluster.Grains.Messaging;

/// <summary>
/// One sending device's idempotency keys (key: <c>accountId.deviceId</c>). The durable receipts
/// (<see cref="ISendReceiptStore"/>) are the authority: a key is looked up there before any fan-out, and its receipt is
/// committed before the 200 is answered, so a retry is answered from it across restarts, deactivations, rolling
/// upgrades and any number of keys. This grain is the fast path in front of them: reentrant, so sends of one device run
/// concurrently, while this activation's single thread makes the check-and-claim of a key atomic and concurrent retries
/// of one key share the first attempt's task; it remembers at most <see cref="MaxRemembered"/> recent successes. Only
/// successful sends get a receipt: a refusal may be retried. If the silo dies after the fan-out is durable and before
/// the receipt is, a retry fans out again; its envelope ids are the first attempt's (see <see cref="MessageSender"/>),
/// so copies still queued are stored once, and only a copy already acked in between would be delivered twice. Group sends
/// (<see cref="SendToGroupAsync"/>) go through the same keys, with the destination <c>group:{groupId}</c>.
/// </summary>
[Reentrant]
internal sealed class OutboxGrain(
    MessageSender sender,
    ISendReceiptStore receipts,
    IOptions<MessagingOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
    : Grain, IOutboxGrain
{
    /// <summary>Recent successes kept in memory; older ones are answered from the receipts table.</summary>
    private const int MaxRemembered = 1_000;

    private static readonly KeyValuePair<string, object?> FromMemory = new("from", "memory");
    private static readonly KeyValuePair<string, object?> FromReceipt = new("from", "receipt");

    private readonly Dictionary<(string Scope, string Destination, string ClientMessageId), Entry> sends = [];
    private readonly Queue<(long ExpiresAt, (string, string, string) Key)> expiries = new();

    public Task<SendResult> SendAsync(SendRequest request) => request.ClientMessageId is { } clientMessageId
        ? OnceAsync(
            (request.IdempotencyScope, request.Destination, clientMessageId),
            () => sender.SendAsync(request),
            static r => r.Status == SendStatus.Sent,
            static r => r.NeedsSync,
            static receipt => new SendResult { Status = SendStatus.Sent, NeedsSync = receipt.NeedsSync })
        : sender.SendAsync(request);

    public Task<GroupSendResult> SendToGroupAsync(GroupSendRequest request)
    {
        var group = GrainFactory.Get<IGroupGrain>(request.GroupId);
        return request.ClientMessageId is { } clientMessageId
            ? OnceAsync(
                (request.IdempotencyScope, request.ReceiptDestination, clientMessageId),
                () => group.SendAsync(request),
                static r => r.Status == GroupSendStatus.Sent,
                static _ => false,
                static _ => GroupSendResult.Of(GroupSendStatus.Sent))
            : group.SendAsync(request);
    }

    /// <summary>
    /// Runs <paramref name="send"/> once per key within the window: a key seen in memory or in the receipts is answered
    /// from there, concurrent attempts of one key share the first, and a success is made durable before it is answered.
    /// </summary>
    private async Task<TResult> OnceAsync<TResult>(
        (string Scope, string Destination, string ClientMessageId) key,
        Func<Task<TResult>> send,
        Func<TResult, bool> succeeded,
        Func<TResult, bool> needsSync,
        Func<SendReceipt, TResult> fromReceipt)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        Expire(now);
        if (sends.TryGetValue(key, out var existing) && existing.Result is Task<TResult> earlierAttempt)
        {
            var earlier = await earlierAttempt;
            if (succeeded(earlier))
            {
                ClusterMetrics.SendRetriesAnswered.Add(1, FromMemory);
                return earlier;
            }
        }

        var attempt = SendOnceAsync(key, now, send, succeeded, needsSync, fromReceipt);
        sends[key] = new Entry(attempt);
        TResult result;
        try
        {
            result = await attempt;
        }
        catch
        {
            Forget(key, attempt);
            throw;
        }

        if (!succeeded(result))
        {
            Forget(key, attempt);
            return result;
        }

        expiries.Enqueue((now + (long)options.Value.IdempotencyWindow.TotalMilliseconds, key));
        return result;
    }

    /// <summary>The receipt's answer if the key has one; otherwise the send, and on success its receipt, durable before the answer.</summary>
    private async Task<TResult> SendOnceAsync<TResult>(
        (string Scope, string Destination, string ClientMessageId) key,
        long now,
        Func<Task<TResult>> send,
        Func<TResult, bool> succeeded,
        Func<TResult, bool> needsSync,
        Func<SendReceipt, TResult> fromReceipt)
    {
        if (await receipts.FindReceiptAsync(key.Scope, key.Destination, key.ClientMessageId, now) is { } receipt)
        {
            ClusterMetrics.SendRetriesAnswered.Add(1, FromReceipt);
            return fromReceipt(receipt);
        }

        var result = await send();
        if (succeeded(result))
        {
            var expiresAt = now + (long)options.Value.IdempotencyWindow.TotalMilliseconds;
            await receipts.SaveReceiptAsync(new SendReceipt(key.Scope, key.Destination, key.ClientMessageId, needsSync(result), expiresAt));
        }

        return result;
    }

    private void Forget((string, string, string) key, Task attempt)
    {
        if (sends.TryGetValue(key, out var entry) && entry.Result == attempt)
        {
            sends.Remove(key);
        }
    }

    private void Expire(long now)
    {
        while (expiries.TryPeek(out var next) && (next.ExpiresAt <= now || expiries.Count > MaxRemembered))
        {
            expiries.Dequeue();
            if (sends.TryGetValue(next.Key, out var entry) && entry.Result.IsCompleted)
            {
                sends.Remove(next.Key);
            }
        }
    }

    private sealed record Entry(Task Result);
}
