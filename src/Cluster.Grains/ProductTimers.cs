namespace Cluster.Grains;

/// <summary>
/// One-shot timers on the product clock (<see cref="ClusterClock"/>) for grains: the callback runs off the grain's
/// scheduler (it should call the grain through its reference) and never carries the arming request's execution
/// context (its call chain) into a call made long after. On a fake clock, advancing it fires them.
/// </summary>
internal static class ProductTimers
{
    /// <summary>Calls <paramref name="callback"/> with <paramref name="state"/> once, after <paramref name="due"/>.</summary>
    public static ITimer Once(TimeProvider time, TimerCallback callback, object state, TimeSpan due)
    {
        if (ExecutionContext.IsFlowSuppressed())
        {
            return time.CreateTimer(callback, state, due, Timeout.InfiniteTimeSpan);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return time.CreateTimer(callback, state, due, Timeout.InfiniteTimeSpan);
        }
    }
}
