namespace Cluster.Testing;

/// <summary>
/// Waits for a condition that sends the test no event (a silo's readiness, a row in a table, a metric): checks it
/// every 100 ms until a deadline, then fails naming what was expected.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> expected)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"not within {timeout.TotalSeconds:0}s: {expected()}");
            }

            await Task.Delay(Interval);
        }
    }
}
