using Cluster.Abstractions.Devices;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Cluster.Grains.Devices;

/// <summary>
/// One device, keyed by its address (<c>account.deviceId</c>), placed on the silo of its socket (<see cref="SocketPlacement"/>).
/// This file: the constructor, activation, and the device's own lifecycle (an incarnation begins, the device is removed).
/// DeviceGrain.Keys.cs: the prekeys. DeviceGrain.Inbox.cs: enqueue, ack, fetch, the queue quota and expiry.
/// DeviceGrain.Delivery.cs: the attached socket, the unacked window, the pump, live events and migration.
/// DeviceGrain.Push.cs: the push subscription and the decision to wake the device when it has no socket.
/// Each partial file declares the fields it owns; only its own methods change them, unless a field's comment says otherwise.
/// Reentrancy: the grain is reentrant, so that a slow commit of one enqueue does not hold up the next one or an ack.
/// Every await is therefore a point where another call may run: state that a call checks must be checked after its last
/// await (as <see cref="ConnectAsync"/> does), the pump runs one loop at a time (<see cref="PumpAsync"/>), and the
/// prekey operations take <see cref="keysLock"/> so that each bundle fetch runs alone and is persisted before it answers,
/// which is what hands every one-time key out at most once, ever, across concurrent fetches and restarts.
/// </summary>
[Reentrant]
[SocketPlacement]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "SemaphoreSlim holds no OS handle unless AvailableWaitHandle is used, which it never is here")]
internal sealed partial class DeviceGrain(
    [PersistentState("keys", GrainStorage.Name)] IPersistentState<DeviceKeysState> keys,
    [PersistentState("inbox", GrainStorage.Name)] IPersistentState<DeviceInboxState> inboxState,
    [PersistentState("push", GrainStorage.Name)] IPersistentState<DevicePushState> pushState,
    Cluster.Grains.Push.IPushDispatcher pushDispatcher,
    IOptions<Cluster.Grains.Push.PushOptions> pushOptions,
    IInboxStore store,
    IOptions<MessagingOptions> messaging,
    IClusterManifestProvider clusterManifest,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time) : Grain, IDeviceGrain, Cluster.Abstractions.Push.IDevicePushGrain, IGrainMigrationParticipant
{
    private string Address => this.GetPrimaryKeyString();

    public async Task BeginIncarnationAsync(Guid incarnation)
    {
        inboxState.State.Incarnation = incarnation;
        inboxState.State.Removed = false;
        await inboxState.WriteStateAsync();
    }

    public async Task RemoveAsync()
    {
        // First, before any await: an attach interleaving with the removal is refused from here on.
        inboxState.State.Removed = true;
        if (connection is { } removed)
        {
            _ = removed.CloseAsync(4401, "device removed");
            connection = null;
        }

        ClearUnacked();
        ready.Clear();
        await store.PurgeAsync(Address);
        SetDepth(0);

        // Kept (not cleared) so that the removed device's sockets stay refused until the id is given to a new device.
        inboxState.State = new DeviceInboxState { Removed = true };
        await inboxState.WriteStateAsync();
        await ClearKeysAsync();
        await RemovePushSubscriptionAsync(null);
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ClusterMetrics.AddDeviceGrains(1);
        if (connection is not { } moved)
        {
            return;
        }

        // Migrated here with the socket attached on the previous silo (OnRehydrate): deliver to it from here.
        ClusterMetrics.DeviceGrainsMoved.Add(1);
        try
        {
            await EnsureInboxLoadedAsync();
            await AttachAsync();
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException)
        {
            // As when an attach call fails: the client is told to reconnect, and the envelopes stay queued.
            connection = null;
            _ = moved.CloseAsync(1011, "reconnect");
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (connection is { } attached && !moving && reason.ReasonCode != DeactivationReasonCode.Migrating)
        {
            // The socket lives on (on its own silo) but this activation no longer delivers to it: have it attach again.
            _ = attached.DetachedAsync();
        }

        SetDepth(0);
        ClusterMetrics.AddDeviceGrains(-1);
        return base.OnDeactivateAsync(reason, cancellationToken);
    }
}
