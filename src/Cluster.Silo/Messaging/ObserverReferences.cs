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

    public static void DeleteLater<T>(IGrainFactory grains, T reference)
        where T : IGrainObserver
    {
        _ = DeleteAsync();

        async Task DeleteAsync()
        {
            // Real time: the grace is about how long messages take, not about the product's clock.
            await Task.Delay(Grace, TimeProvider.System);
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
}
