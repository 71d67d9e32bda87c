namespace Cluster.Grains.Devices;

/// <summary>Account deletion: the device is removed, then its stored state rows are cleared as well.</summary>
internal sealed partial class DeviceGrain
{
    public async Task DeleteAsync()
    {
        await RemoveAsync();
        await inboxState.ClearStateAsync();
        inboxState.State = new DeviceInboxState { Removed = true };
        DeactivateOnIdle();
    }
}
