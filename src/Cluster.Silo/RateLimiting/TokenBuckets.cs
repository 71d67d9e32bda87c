namespace Cluster.Silo.RateLimiting;

/// <summary>
/// A token bucket's state: <see cref="Tokens"/> at <see cref="Timestamp"/> (a <see cref="TimeProvider"/> timestamp).
/// The bucket holds at most its burst and gains one token per refill interval, computed when it is next used: there is
/// no timer, so a fake clock drives it in tests.
/// </summary>
internal readonly record struct TokenBucket(double Tokens, long Timestamp)
{
    public static TokenBucket Full(int burst, long now) => new(burst, now);

    /// <summary>The tokens held at <paramref name="now"/>.</summary>
    public double TokensAt(long now, int burst, TimeSpan refill, TimeProvider time) =>
        Math.Min(burst, Tokens + (time.GetElapsedTime(Timestamp, now) / refill));

    /// <summary>How long until the bucket, holding <paramref name="tokens"/>, holds one whole token.</summary>
    public static TimeSpan WaitForOne(double tokens, TimeSpan refill) => tokens >= 1 ? TimeSpan.Zero : (1 - tokens) * refill;

    /// <summary>The value of a <c>Retry-After</c> header for <paramref name="wait"/>: whole seconds, at least 1.</summary>
    public static int RetryAfterSeconds(TimeSpan wait) => (int)Math.Clamp(Math.Ceiling(wait.TotalSeconds), 1, int.MaxValue);
}

/// <summary>
/// Token buckets by key (a device, a client address, a pair of accounts), in this silo's memory. At most
/// <c>maxKeys</c> are held: a full bucket behaves exactly like an absent one, so at the cap the full ones are forgotten;
/// if that frees less than a tenth of the table (an attacker keeps that many keys busy), every bucket is forgotten,
/// which errs towards serving and keeps the cost of each call constant on average. Thread-safe.
/// </summary>
internal sealed class TokenBuckets<TKey>(int burst, TimeSpan refill, int maxKeys, TimeProvider time)
    where TKey : notnull
{
    private readonly Dictionary<TKey, TokenBucket> buckets = [];
    private readonly Lock sync = new();

    /// <summary>Takes a token for <paramref name="key"/>; false, with the wait for the next one, when none is left.</summary>
    public bool TryTake(TKey key, out TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        lock (sync)
        {
            var tokens = TokensAt(key, now);
            if (tokens < 1)
            {
                retryAfter = TokenBucket.WaitForOne(tokens, refill);
                return false;
            }

            Store(key, new TokenBucket(tokens - 1, now), now);
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }

    /// <summary>Whether <paramref name="key"/> has a token left, without taking it; else the wait for the next one.</summary>
    public bool HasToken(TKey key, out TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        lock (sync)
        {
            var tokens = TokensAt(key, now);
            retryAfter = TokenBucket.WaitForOne(tokens, refill);
            return tokens >= 1;
        }
    }

    /// <summary>Gives back a token taken for an attempt that turned out not to count.</summary>
    public void Refund(TKey key)
    {
        var now = time.GetTimestamp();
        lock (sync)
        {
            if (buckets.ContainsKey(key))
            {
                var tokens = TokensAt(key, now) + 1;
                if (tokens >= burst)
                {
                    buckets.Remove(key);
                }
                else
                {
                    buckets[key] = new TokenBucket(tokens, now);
                }
            }
        }
    }

    /// <summary>The keys held now (for tests of the bound).</summary>
    public int Count
    {
        get
        {
            lock (sync)
            {
                return buckets.Count;
            }
        }
    }

    private double TokensAt(TKey key, long now) =>
        buckets.TryGetValue(key, out var bucket) ? bucket.TokensAt(now, burst, refill, time) : burst;

    private void Store(TKey key, TokenBucket bucket, long now)
    {
        if (buckets.Count >= maxKeys && !buckets.ContainsKey(key))
        {
            foreach (var (held, state) in buckets)
            {
                if (state.TokensAt(now, burst, refill, time) >= burst)
                {
                    buckets.Remove(held);
                }
            }

            if (buckets.Count > maxKeys - Math.Max(1, maxKeys / 10))
            {
                buckets.Clear();
            }
        }

        buckets[key] = bucket;
    }
}
