using System.Net;

namespace Cluster.Client.Messaging;

/// <summary>
/// How <see cref="ClusterClient.SendMessageAsync"/> rides through a failover: a send that got a 5xx (503
/// <c>unavailable</c> while a dead silo is being declared dead, a load balancer's 502/504), no answer (a refused or reset
/// connection) or no answer within <see cref="AttemptTimeout"/> is sent again with the same <c>clientMessageId</c>
/// (the server stores it once), after <c>Retry-After</c> when the server gave one, otherwise after an exponential
/// backoff with full jitter, until it succeeds or <see cref="Budget"/> has passed since the first attempt. Only then,
/// or on an answer that will not change (a 4xx), does the application see an error.
/// </summary>
public sealed class SendRetryPolicy
{
    /// <summary>The policy used when none is given: 30 s budget, 10 s per attempt, 100 ms doubling to 2 s.</summary>
    public static SendRetryPolicy Default { get; } = new();

    /// <summary>No retries: every failure is the application's to handle.</summary>
    public static SendRetryPolicy None { get; } = new() { Budget = TimeSpan.Zero };

    /// <summary>How long after the first attempt a retry may still start; past it the last failure is thrown. Default 30 s.</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one attempt may go unanswered before it counts as failed (and is retried). Default 10 s.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first backoff's upper bound (without <c>Retry-After</c>); it doubles with each failed attempt. Default 100 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The largest backoff bound. Default 2 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Called before each retry with the failure and the delay chosen; for metrics and logs. Default none.</summary>
    public Action<Exception, TimeSpan>? OnRetry { get; init; }

    /// <summary>The clock for the budget and the delays. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Runs <paramref name="attempt"/> until it succeeds, fails for good, or the budget is spent.</summary>
    internal async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var started = TimeProvider.GetTimestamp();
        for (var failures = 1; ; failures++)
        {
            Exception failure;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(AttemptTimeout);
                try
                {
                    return await attempt(timeout.Token);
                }
                catch (Exception ex) when (IsRetryable(ex, cancellationToken))
                {
                    failure = ex;
                }
            }

            var delay = Delay(failure, failures);
            if (TimeProvider.GetElapsedTime(started) + delay > Budget)
            {
                throw failure is OperationCanceledException
                    ? new TimeoutException($"no answer within {AttemptTimeout.TotalSeconds:0.#} s, and the retry budget of {Budget.TotalSeconds:0.#} s is spent", failure)
                    : failure;
            }

            OnRetry?.Invoke(failure, delay);
            await Task.Delay(delay, TimeProvider, cancellationToken);
        }
    }

    private TimeSpan Delay(Exception failure, int failures)
    {
        var ceiling = Math.Min(InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30)), MaxBackoff.TotalMilliseconds);
        var jittered = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
        // Retry-After is the server's estimate of recovery: not sooner, and spread a little so that clients do not return at once.
        return failure is ClusterApiException { RetryAfter: { } retryAfter } && retryAfter > TimeSpan.Zero
            ? retryAfter + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * retryAfter.TotalMilliseconds / 4)
            : jittered;
    }

    private static bool IsRetryable(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        ClusterApiException api => (int)api.Status >= 500 && api.Status != HttpStatusCode.NotImplemented,
        HttpRequestException => true,
        // The attempt's own timeout (or HttpClient's), not the caller's cancellation.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        IOException => true,
        _ => false,
    };
}
