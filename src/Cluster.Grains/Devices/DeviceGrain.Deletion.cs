namespace Cluster.Grains.Devices;

/// <summary>
/// Account deletion: the device is removed (DeviceGrain.cs), then its inbox state row is deleted as well, so nothing
/// of it is stored. The activation is left to idle out rather than deactivated: while it lives, its in-memory
/// <see cref="DeviceInboxState.Removed"/> refuses a late enqueue, key upload or push subscription of a request that
/// raced the deletion (once it is gone, the account no longer exists, so no such request gets this far).
/// </summary>
internal sealed partial class DeviceGrain
{
    public async Task DeleteAsync()
    {
        await RemoveAsync();
        await inboxState.ClearStateAsync();
        inboxState.State = new DeviceInboxState { Removed = true };
    }
}
