using Cluster.Abstractions;

namespace Cluster.Grains.Accounts;

/// <summary>
/// Token buckets per requesting device, kept in the target account's activation: all fetches of one account's keys
/// pass through that one activation whichever silo took the request, so the limit holds cluster-wide.
/// Memory only: a reactivation starts every bucket full, which errs towards serving.
/// </summary>
internal sealed class KeyFetchLimiter(KeyFetchLimitOptions options, TimeProvider time)
{
    private const int PruneThreshold = 10_000;
    private readonly Dictionary<DeviceAddress, Bucket> buckets = [];
    private readonly TimeSpan refill = TimeSpan.FromSeconds(options.RefillSeconds);

    public bool TryAcquire(DeviceAddress requester, out TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        if (!buckets.TryGetValue(requester, out var bucket))
        {
            if (buckets.Count >= PruneThreshold)
            {
                Prune(now);
            }

            bucket = new Bucket(options.Burst, now);
        }

        var tokens = Math.Min(options.Burst, bucket.Tokens + (time.GetElapsedTime(bucket.Timestamp, now) / refill));
        if (tokens < 1)
        {
            retryAfter = (1 - tokens) * refill;
            buckets[requester] = new Bucket(tokens, now);
            return false;
        }

        retryAfter = TimeSpan.Zero;
        buckets[requester] = new Bucket(tokens - 1, now);
        return true;
    }

    /// <summary>Forgets buckets that have refilled completely: they behave exactly like absent ones.</summary>
    private void Prune(long now)
    {
        foreach (var (requester, bucket) in buckets)
        {
            if (bucket.Tokens + (time.GetElapsedTime(bucket.Timestamp, now) / refill) >= options.Burst)
            {
                buckets.Remove(requester);
            }
        }
    }

    private readonly record struct Bucket(double Tokens, long Timestamp);
}
