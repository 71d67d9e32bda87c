using Cluster.Abstractions.Messaging;
using Cluster.Abstractions.Push;
using Cluster.Grains.Observability;

namespace Cluster.Grains.Devices;

/// <summary>
/// The push subscription (<see cref="DevicePushState"/>, durable in grain storage) and the one decision of when to wake
/// the device: this grain is the single activation for its address in the cluster, so however many silos send to the
/// device, one grain decides, and at most one wake-up per <see cref="Push.PushOptions.WakeInterval"/> goes out while
/// the device has no socket (an explicit <c>urgent</c> send is woken at once). The coalescing window is in memory: it
/// resets when a socket attaches and, at worst, when the grain is reactivated (one extra wake-up, never a lost one).
/// The wake-up itself is handed to the silo's bounded <see cref="Push.IPushDispatcher"/>, never awaited, so a slow push
/// service cannot slow an enqueue.
/// </summary>
internal sealed partial class DeviceGrain
{
    // When the last coalesced wake-up went out (Unix ms), or null: set by WakeIfOffline, cleared by ResetWakeCoalescing (on attach) and when the subscription changes.
    private long? lastWakeAt;

    public async Task SetPushSubscriptionAsync(PushSubscription subscription)
    {
        pushState.State.Subscription = subscription;
        lastWakeAt = null;
        await pushState.WriteStateAsync();
    }

    public Task<PushSubscription?> GetPushSubscriptionAsync() => Task.FromResult(pushState.State.Subscription);

    public async Task RemovePushSubscriptionAsync(string? onlyEndpoint)
    {
        if (pushState.State.Subscription is not { } current || (onlyEndpoint is not null && current.Endpoint != onlyEndpoint))
        {
            return;
        }

        pushState.State.Subscription = null;
        lastWakeAt = null;
        await pushState.ClearStateAsync();
        pushState.State = new DevicePushState();
    }

    public Task PushCallAsync(string callId, TimeSpan ringFor, bool ended)
    {
        // A cancel goes out even if a socket attached since the ring: the push may still be waiting at the push service.
        if (pushState.State.Subscription is { } subscription && (ended || connection is null))
        {
            pushDispatcher.TryEnqueue(new PushRequest(Address, subscription, ended ? PushReason.CallEnded : PushReason.CallOffer, true, ringFor, callId));
        }

        return Task.CompletedTask;
    }

    private void ResetWakeCoalescing() => lastWakeAt = null;

    /// <summary>After an enqueue: wakes the device through its push subscription if it has no socket, coalesced.</summary>
    private void WakeIfOffline(int stored, IReadOnlyList<InboxEnvelope> envelopes)
    {
        if (stored == 0 || connection is not null || moving || pushState.State.Subscription is not { } subscription)
        {
            return;
        }

        var urgent = false;
        foreach (var envelope in envelopes)
        {
            urgent |= envelope.WakeNow;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var options = pushOptions.Value;
        if (!urgent && lastWakeAt is { } last && now - last < (long)options.WakeInterval.TotalMilliseconds)
        {
            ClusterMetrics.PushCoalesced.Add(1);
            return;
        }

        lastWakeAt = now;
        pushDispatcher.TryEnqueue(new PushRequest(Address, subscription, PushReason.Message, urgent, options.MessageTimeToLive));
    }
}
