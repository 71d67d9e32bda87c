using Cluster.Abstractions.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Cluster.Grains.Messaging;

/// <summary>
/// One sending device's idempotency keys (key: <c>accountId.deviceId</c>). Reentrant: sends of one device run
/// concurrently; this activation's single thread makes the check-and-claim of a key atomic, and concurrent retries of
/// one key share the first attempt's task. Only successful sends are remembered: a refusal may be retried.
/// Memory only, kept for the whole window (the activation lives as long, and holds at most 10,000 keys); if the
/// activation is lost (a silo dies), a retry produces the same envelope ids (see <see cref="MessageSender"/>), which
/// the inbox stores once while the first copies are still queued.
/// </summary>
[Reentrant]
[CollectionAgeLimit(Hours = 24)]
internal sealed class OutboxGrain(MessageSender sender, IOptions<MessagingOptions> options, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
    : Grain, IOutboxGrain
{
    private const int MaxRemembered = 10_000;
    private readonly Dictionary<(string Destination, string ClientMessageId), Entry> sends = [];
    private readonly Queue<(long ExpiresAt, (string, string) Key)> expiries = new();

    public async Task<SendResult> SendAsync(SendRequest request)
    {
        if (request.ClientMessageId is not { } clientMessageId)
        {
            return await sender.SendAsync(request);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        Expire(now);
        var key = (request.Destination, clientMessageId);
        if (sends.TryGetValue(key, out var existing))
        {
            var earlier = await existing.Result;
            if (earlier.Status == SendStatus.Sent)
            {
                return earlier;
            }
        }

        var attempt = sender.SendAsync(request);
        sends[key] = new Entry(attempt);
        SendResult result;
        try
        {
            result = await attempt;
        }
        catch
        {
            Forget(key, attempt);
            throw;
        }

        if (result.Status != SendStatus.Sent)
        {
            Forget(key, attempt);
            return result;
        }

        expiries.Enqueue((now + (long)options.Value.IdempotencyWindow.TotalMilliseconds, key));
        return result;
    }

    private void Forget((string, string) key, Task<SendResult> attempt)
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

    private sealed record Entry(Task<SendResult> Result);
}
