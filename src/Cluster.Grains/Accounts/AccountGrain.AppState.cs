using Cluster.Abstractions.AppState;
using Cluster.Grains.Messaging;

namespace Cluster.Grains.Accounts;

/// <summary>App state sync: the announcement of a new version to the account's other devices (no state of its own).</summary>
internal sealed partial class AccountGrain : IAccountAppStateGrain
{
    public Task NotifyAppStateChangedAsync(string collection, long version, int byDeviceId)
    {
        var deviceEvent = EventJson.AppStateChanged(collection, version);
        foreach (var deviceId in State.Devices.Keys)
        {
            if (deviceId != byDeviceId)
            {
                _ = Device(deviceId).PublishEventAsync(deviceEvent);
            }
        }

        return Task.CompletedTask;
    }
}
