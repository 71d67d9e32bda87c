namespace Cluster.Silo.Messaging;

/// <summary>
/// Drops a socket's grain observer a while after the socket ended rather than at once. The grain's one-way pushes (frames,
/// a 4409 close, a provisioning body) may be on their way when the socket ends, and a push that reaches an observer
/// already deleted is logged by Orleans at Error ("Unexpected target grain in request"): a client closing its socket, or
/// resetting the connection, would then put an Error in the log. So the observer stays registered until such pushes
/// have arrived; its socket is closed, and it drops them.
/// One per silo (a singleton), shared by device and provisioning sockets. At most
/// <see cref="DeviceSocketOptions.MaxClosedObservers"/> wait out their grace at a time: past that, socket churn would make
/// the silo hold observers without bound, so a further one is deleted at once (counted by
/// <c>cluster_closed_observers_deleted_early_total</c>), accepting that a late push to it is logged.
/// </summary>
internal sealed class ObserverReferences(IGrainFactory grains, IOptions<DeviceSocketOptions> options)
{
    /// <summary>How long the observer outlives its socket: longer than a one-way message takes to arrive (Orleans' response timeout is 30 s).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    private readonly int maxHeld = options.Value.MaxClosedObservers;

    // Observers waiting out their grace now; changed only by DeleteLater and the delayed deletes it starts.
    private int held;

    // Observers deleted at once because maxHeld were already waiting; only grows.
    private long deletedEarly;

    /// <summary>Observers of closed sockets waiting out their grace.</summary>
    public int Held => Volatile.Read(ref held);

    /// <summary>Observers deleted at once since the silo started because <see cref="DeviceSocketOptions.MaxClosedObservers"/> were held.</summary>
    public long DeletedEarly => Interlocked.Read(ref deletedEarly);

    public void DeleteLater<T>(T reference)
        where T : IGrainObserver
    {
        if (Interlocked.Increment(ref held) > maxHeld)
        {
            Interlocked.Decrement(ref held);
            Interlocked.Increment(ref deletedEarly);
            SocketMetrics.ClosedObserversDeletedEarly.Add(1);
            Delete(reference);
            return;
        }

        _ = DeleteAsync();

        async Task DeleteAsync()
        {
            try
            {
                // Real time: the grace is about how long messages take, not about the product's clock.
                await Task.Delay(Grace, TimeProvider.System);
                Delete(reference);
            }
            finally
            {
                Interlocked.Decrement(ref held);
            }
        }
    }

    private void Delete<T>(T reference)
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
