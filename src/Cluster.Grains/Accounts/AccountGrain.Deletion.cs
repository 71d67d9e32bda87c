using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Grains.Accounts;

/// <summary>
/// Account deletion by the primary: every device is deleted (socket closed with 4401, queue purged, keys and grain
/// state cleared), every <see cref="IAccountDeletionStep"/> runs, interested contacts hear <c>deviceListChanged</c>
/// (their next look-up answers 404), and the account's state row is cleared so the number can be registered again.
/// The grain is not reentrant, so a send checked against the device set either ran before (and its envelope is
/// purged) or runs after (and finds no account).
/// </summary>
internal sealed partial class AccountGrain
{
    public async Task<DeleteAccountStatus> DeleteAccountAsync(int byDeviceId)
    {
        if (!State.Exists)
        {
            return DeleteAccountStatus.NotFound;
        }

        if (byDeviceId != DeviceAddress.PrimaryDeviceId)
        {
            return DeleteAccountStatus.NotPrimary;
        }

        var deviceIds = State.Devices.Keys.ToArray();
        var cutoff = Now - (long)linking.Value.InterestLifetime.TotalMilliseconds;
        var interested = State.InterestedAccounts.Where(i => i.Value > cutoff && i.Key != AccountId).Select(i => i.Key).ToArray();
        var version = State.DeviceListVersion + 1;

        // Credentials first: from this write on, no device of the account authenticates and no send finds it.
        State.Exists = false;
        State.Devices.Clear();
        deviceSet = null;
        await account.WriteStateAsync();
        interestDirty = false;

        foreach (var deviceId in deviceIds)
        {
            await Device(deviceId).DeleteAsync();
        }

        foreach (var step in ServiceProvider.GetServices<IAccountDeletionStep>())
        {
            await step.DeleteAccountAsync(AccountId, deviceIds, CancellationToken.None);
        }

        await account.ClearStateAsync();
        account.State.Exists = false;
        Observability.ClusterMetrics.AccountsDeleted.Add(1);
        _ = AnnounceAsync(interested, version);
        DeactivateOnIdle();
        return DeleteAccountStatus.Deleted;
    }
}
