namespace Cluster.Testing;

/// <summary>
/// The inverse of <see cref="Eventually"/>, for a "never" that has no event to await (a zombie socket must not attach
/// again while it lives): checks a condition every 100 ms through a window, and fails the first time it holds.
/// </summary>
public static class Never
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Checks until <paramref name="window"/> has passed or <paramref name="until"/> completes, whichever is first.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan window, Func<string> what, Task? until = null)
    {
        var end = DateTime.UtcNow + window;
        while (DateTime.UtcNow < end && until is not { IsCompleted: true })
        {
            if (await condition())
            {
                Assert.Fail($"it happened: {what()}");
            }

            await (until is null ? Task.Delay(Interval) : Task.WhenAny(until, Task.Delay(Interval)));
        }
    }
}
