using System.Threading.RateLimiting;

namespace Cluster.Silo.RateLimiting;

/// <summary>
/// One partition of an ASP.NET Core rate-limiting policy: a token bucket on the silo's <see cref="TimeProvider"/>
/// (the BCL's <see cref="TokenBucketRateLimiter"/> reads the real clock and refills on a timer, so a fake clock cannot
/// drive it). No queue: a request without a token is refused at once, its lease naming the limit and the wait.
/// The partitioned limiter forgets a partition once it has been full (idle) for a while.
/// </summary>
internal sealed class ClockedTokenBucketLimiter(string limit, int burst, TimeSpan refill, TimeProvider time) : RateLimiter
{
    /// <summary>The lease metadata naming the refusing limit (the refusal's body names it).</summary>
    public static readonly MetadataName<string> LimitName = MetadataName.Create<string>("LIMIT");

    private readonly Lock sync = new();
    private TokenBucket bucket = TokenBucket.Full(burst, time.GetTimestamp());

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (sync)
            {
                var now = time.GetTimestamp();
                if (bucket.TokensAt(now, burst, refill, time) < burst)
                {
                    return null;
                }

                // Full since the moment the last refill topped it up.
                var fullSince = (burst - bucket.Tokens) * refill;
                return time.GetElapsedTime(bucket.Timestamp, now) - fullSince;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (sync)
        {
            return new RateLimiterStatistics { CurrentAvailablePermits = (long)bucket.TokensAt(time.GetTimestamp(), burst, refill, time) };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        lock (sync)
        {
            var now = time.GetTimestamp();
            var tokens = bucket.TokensAt(now, burst, refill, time);
            if (tokens < permitCount)
            {
                return new Lease(false, limit, (permitCount - tokens) * refill);
            }

            bucket = new TokenBucket(tokens - permitCount, now);
            return new Lease(true, limit, TimeSpan.Zero);
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    private sealed class Lease(bool acquired, string limit, TimeSpan retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => acquired ? [] : [MetadataName.RetryAfter.Name, LimitName.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = acquired ? null : metadataName switch
            {
                _ when metadataName == MetadataName.RetryAfter.Name => retryAfter,
                _ when metadataName == LimitName.Name => limit,
                _ => null,
            };
            return metadata is not null;
        }
    }
}
