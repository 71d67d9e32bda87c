using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;

namespace Cluster.Grains.Accounts;

/// <summary>
/// Re-registration on a new phone: a verified registration of a registered number replaces device 1 and unlinks every
/// companion in one turn of the (non-reentrant) grain. The old primary's and the companions' device grains are purged
/// (<c>IDeviceGrain.RemoveAsync</c>: socket closed with 4401, queue, keys and push target gone); the account keeps its
/// id, its interested accounts and everything outside the account grain that names only the account (group
/// memberships, app state, blobs until they expire). Owns no fields; changes <c>State</c> through the same write as
/// every device change (<c>ChangedAsync</c>), then tells interested accounts with <c>identityChanged</c>.
/// </summary>
internal sealed partial class AccountGrain : IReRegistrationGrain
{
    public async Task<ReRegistrationResult> ReRegisterAsync(RegisterAccount request, byte[]? pinHash)
    {
        if (!State.Exists)
        {
            return new ReRegistrationResult(ReRegistrationStatus.NoAccount);
        }

        if (!PassesRegistrationLock(pinHash, out var lapsesAt))
        {
            return new ReRegistrationResult(ReRegistrationStatus.Locked, lapsesAt);
        }

        var now = Now;
        var companions = State.Devices.Keys.Where(id => id != DeviceAddress.PrimaryDeviceId).ToList();
        var primary = NewDevice(DeviceAddress.PrimaryDeviceId, request.RegistrationId, request.Name, request.IdentityKey, request.PasswordHash, Guid.NewGuid(), now);

        // Device 1 starts clean, as a reused companion id does: the old primary's socket (4401), queue, keys and push
        // target go before the new incarnation begins, so nothing of the old phone can attach to the new one.
        var device = Device(DeviceAddress.PrimaryDeviceId);
        await device.RemoveAsync();
        await device.BeginIncarnationAsync(primary.Incarnation);
        await device.InitializeKeysAsync(request.Keys);

        // Everything the old identity key vouched for is void: the companions, their key indexes, the signed list,
        // the link tokens the old primary made, and its registration lock (the new primary sets its own).
        State.IdentityKey = request.IdentityKey;
        State.Devices = new() { [primary.DeviceId] = primary };
        State.MaxKeyIndex = 0;
        State.DeviceList = null;
        State.DeviceListSignature = null;
        State.DeviceListTimestamp = 0;
        State.LinkTokens.Clear();
        State.RegistrationLock = null;
        await ChangedAsync(byDeviceId: DeviceAddress.PrimaryDeviceId);
        foreach (var companion in companions)
        {
            await Device(companion).RemoveAsync();
        }

        ClusterMetrics.ReRegistrations.Add(1);
        ClusterMetrics.ReRegistrationUnlinks.Add(companions.Count);
        _ = AnnounceIdentityChangedAsync(State.DeviceListVersion);
        return new ReRegistrationResult(ReRegistrationStatus.Replaced, CompanionsUnlinked: companions.Count);
    }

    public Task NotifyIdentityChangedAsync(string accountId, long version)
    {
        var deviceEvent = EventJson.IdentityChanged(accountId, version);
        foreach (var deviceId in State.Devices.Keys)
        {
            _ = Device(deviceId).PublishEventAsync(deviceEvent);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// <c>identityChanged</c> to every account interested in this one (the set <c>deviceListChanged</c> goes to), one
    /// one-way message each, in batches with a yield between them, like <see cref="AnnounceAsync"/>.
    /// </summary>
    private async Task AnnounceIdentityChangedAsync(long version)
    {
        var cutoff = Now - (long)linking.Value.InterestLifetime.TotalMilliseconds;
        var interested = State.InterestedAccounts.Where(i => i.Value > cutoff && i.Key != AccountId).Select(i => i.Key).ToArray();
        var batch = linking.Value.FanoutBatchSize;
        for (var i = 0; i < interested.Length; i++)
        {
            _ = GrainFactory.GetGrain<IReRegistrationGrain>(interested[i]).NotifyIdentityChangedAsync(AccountId, version);
            if ((i + 1) % batch == 0)
            {
                await Task.Yield();
            }
        }
    }
}
