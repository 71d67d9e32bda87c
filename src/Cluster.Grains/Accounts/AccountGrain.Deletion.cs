using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Grains.Observability;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Grains.Accounts;

/// <summary>
/// Account deletion by the primary. First, in one state write, the account stops existing (no device authenticates,
/// no send or look-up finds it) and <see cref="AccountState.Deletion"/> records what is left to do, under a durable
/// reminder (<see cref="DeletionReminder"/>). Then every device is deleted (socket closed with 4401, queue purged,
/// keys, push subscription and grain state cleared), every <see cref="IAccountDeletionStep"/> runs (blobs, groups,
/// receipts, app state, the number's verification state), the accounts interested in this one hear
/// <c>deviceListChanged</c> (their next look-up or send answers 404) and forget it, and the account's state row and
/// its reminder are deleted, so that the number can be registered again. An interruption anywhere after the first
/// write (a database error, a silo lost) is finished by the reminder; every step is idempotent. The grain is not
/// reentrant, so a send checked against the device set either ran before the first write (its envelopes are purged
/// with the queues, or refused by the removed device grain) or runs after it (and finds no account).
/// </summary>
internal sealed partial class AccountGrain : IRemindable
{
    private const string DeletionReminder = "deletion";

    /// <summary>A minute, or Orleans' minimum reminder period if larger.</summary>
    private TimeSpan ReminderPeriod =>
        ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<ReminderOptions>>().Value.MinimumReminderPeriod is var minimum
        && minimum > TimeSpan.FromMinutes(1) ? minimum : TimeSpan.FromMinutes(1);

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

        var cutoff = Now - (long)linking.Value.InterestLifetime.TotalMilliseconds;
        var interested = State.InterestedAccounts.Where(i => i.Value > cutoff && i.Key != AccountId).Select(i => i.Key).ToArray();
        var pending = new PendingDeletion([.. State.Devices.Keys], interested, State.DeviceListVersion + 1);

        // The reminder first: a reminder without a pending deletion removes itself, a pending deletion without a
        // reminder would never finish.
        await this.RegisterOrUpdateReminder(DeletionReminder, ReminderPeriod, ReminderPeriod);
        State.Exists = false;
        State.Devices.Clear();
        State.Deletion = pending;
        deviceSet = null;
        await account.WriteStateAsync();
        interestDirty = false;

        await FinishDeletionAsync(pending);
        ClusterMetrics.AccountsDeleted.Add(1);
        return DeleteAccountStatus.Deleted;
    }

    public async Task ForgetInterestAsync(string accountId)
    {
        if (State.Exists && State.InterestedAccounts.Remove(accountId))
        {
            // Written now, not at the next flush: the deleted account's number must not stay in this row.
            await account.WriteStateAsync();
            interestDirty = false;
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == CompanionExpiryReminder)
        {
            await CheckCompanionExpiryAsync();
            return;
        }

        if (reminderName != DeletionReminder)
        {
            return;
        }

        if (State.Deletion is { } pending)
        {
            await FinishDeletionAsync(pending);
            ClusterMetrics.AccountDeletionsResumed.Add(1);
        }
        else
        {
            await UnregisterReminderAsync(DeletionReminder);
        }
    }

    /// <summary>Everything after the account stopped existing; safe to run again from the start.</summary>
    private async Task FinishDeletionAsync(PendingDeletion pending)
    {
        foreach (var deviceId in pending.DeviceIds)
        {
            await Device(deviceId).DeleteAsync();
        }

        foreach (var step in ServiceProvider.GetServices<IAccountDeletionStep>())
        {
            await step.DeleteAccountAsync(AccountId, pending.DeviceIds, CancellationToken.None);
        }

        foreach (var other in pending.Interested)
        {
            _ = GrainFactory.GetGrain<IAccountGrain>(other).ForgetInterestAsync(AccountId);
        }

        _ = AnnounceAsync(pending.Interested, pending.Version);
        await account.ClearStateAsync();
        companionExpiryTimer?.Dispose();
        await UnregisterReminderAsync(CompanionExpiryReminder);
        await UnregisterReminderAsync(DeletionReminder);
        DeactivateOnIdle();
    }

    private async Task UnregisterReminderAsync(string name)
    {
        if (await this.GetReminder(name) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }
}
