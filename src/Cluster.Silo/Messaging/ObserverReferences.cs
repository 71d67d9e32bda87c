namespace Cluster.Silo.Messaging;

/// <summary>
/// Drops a socket's grain observer a while after the socket ended rather than at once. The grain's one-way pushes (frames,
/// a 4409 close, a provisioning body) may be on their way when the socket ends, and a push that reaches an observer
/// already deleted is logged by Orleans at Error ("Unexpected target grain in request"): a client closing its socket, or
/// resetting the connection, would then put an Error in the log. So the observer stays registered until such pushes
/// have arrived; its socket is closed, and it drops them.
/// </summary>
internal static class ObserverReferences
{
    /// <summary>How long the observer outlives its socket: longer than a one-way message takes to arrive (Orleans' response timeout is 30 s).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most observers kept past their sockets at once. A client that opens and closes sockets in a loop would
    /// otherwise make the silo hold every one of them for the grace: past this many, an observer is deleted at once
    /// (a push still on its way then costs an Orleans log entry, not memory).
    /// </summary>
    public const int MaxPending = 10_000;

    private static int pending;

    /// <summary>How many observers are kept past their sockets right now.</summary>
    public static int Pending => Volatile.Read(ref pending);

    /// <summary>Deletes <paramref name="reference"/> after <see cref="Grace"/>, or at once when <see cref="MaxPending"/> are waiting; true when it waits.</summary>
    public static bool DeleteLater<T>(IGrainFactory grains, T reference)
        where T : IGrainObserver
    {
        if (Interlocked.Increment(ref pending) > MaxPending)
        {
            Interlocked.Decrement(ref pending);
            Delete(grains, reference);
            return false;
        }

        _ = DeleteAsync();
        return true;

        async Task DeleteAsync()
        {
            try
            {
                // Real time: the grace is about how long messages take, not about the product's clock.
                await Task.Delay(Grace, TimeProvider.System);
                Delete(grains, reference);
            }
            finally
            {
                Interlocked.Decrement(ref pending);
            }
        }
    }

    private static void Delete<T>(IGrainFactory grains, T reference)
        where T : IGrainObserver
    {
        try
        {
            grains.DeleteObjectReference<T>(reference);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or OrleansException)
        {
            // The silo stopped meanwhile, and its observers with it.
        }
    }
}
