using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;

namespace Cluster.Grains.Accounts;

/// <summary>
/// Companion expiry (Linking:CompanionExpiryDays): once the primary has stayed away that many whole UTC days, every
/// companion is unlinked as if the primary had removed it. The check is lazy and complete: it runs at every entry
/// point that could use a companion (its authentication, a sender's or contact's look-up of the devices, link-token
/// creation), so an overdue companion is gone before anyone can use or see it. It is also on time when nobody asks:
/// an account with companions arms a timer on the product clock for its next milestone (the warning, then the
/// unlink), behind a durable reminder (<see cref="CompanionExpiryReminder"/>, updated only when the milestone moves:
/// a link, the primary's first visit of a day, the last companion gone), so that a connected companion is warned and
/// then closed with 4401 even if neither it nor anyone else makes a request.
/// </summary>
internal sealed partial class AccountGrain
{
    private const long DayMs = 86_400_000;

    private const string CompanionExpiryReminder = "companion-expiry";

    // The product-clock timer of the next milestone, or null: set by ArmCompanionExpiry, disposed by it and on deactivation.
    private ITimer? companionExpiryTimer;

    // The milestone (Unix ms) the timer is armed for, 0: none; changed only by ArmCompanionExpiryAsync.
    private long companionExpiryArmedFor;

    public async Task CheckCompanionExpiryAsync()
    {
        await ExpireCompanionsAsync();
        if (State.Exists && State.Devices.Count > 1)
        {
            await WarnCompanionsAsync();
        }

        await ArmCompanionExpiryAsync(updateReminder: true);
    }

    /// <summary>The next moment the companions must be warned or unlinked, or null when there is none to come (no companion).</summary>
    private long? NextCompanionMilestone()
    {
        if (!State.Exists || State.Devices.Count < 2 || !State.Devices.TryGetValue(DeviceAddress.PrimaryDeviceId, out var primary))
        {
            return null;
        }

        var unlinkAt = CompanionsUnlinkAt(primary);
        var warnAt = unlinkAt - (linking.Value.CompanionExpiryWarningDays * DayMs);
        return linking.Value.CompanionExpiryWarningDays > 0 && Now < warnAt ? warnAt : unlinkAt;
    }

    /// <summary>
    /// Arms the timer for the next milestone if it moved; with <paramref name="updateReminder"/> (the state just
    /// changed), the reminder follows it: registered for it, or unregistered when no companion is left.
    /// </summary>
    private async Task ArmCompanionExpiryAsync(bool updateReminder)
    {
        var next = NextCompanionMilestone() ?? 0;
        if (next == companionExpiryArmedFor)
        {
            return;
        }

        var armed = companionExpiryArmedFor;
        companionExpiryArmedFor = next;
        companionExpiryTimer?.Dispose();
        companionExpiryTimer = null;
        if (next != 0)
        {
            var due = TimeSpan.FromMilliseconds(Math.Max(0, next - Now));
            companionExpiryTimer = ProductTimers.Once(time, static s => _ = ((IAccountGrain)s!).CheckCompanionExpiryAsync(), this.AsReference<IAccountGrain>(), due);
        }

        if (!updateReminder)
        {
            return;
        }

        if (next != 0)
        {
            var due = TimeSpan.FromMilliseconds(Math.Max(0, next - Now));
            await this.RegisterOrUpdateReminder(CompanionExpiryReminder, due > ReminderPeriod ? due : ReminderPeriod, TimeSpan.FromDays(1));
        }
        else if (armed != 0)
        {
            await UnregisterReminderAsync(CompanionExpiryReminder);
        }
    }

    /// <summary>When the companions are unlinked if the primary stays away: the start of the UTC day after its <c>CompanionExpiryDays</c> whole days away.</summary>
    private long CompanionsUnlinkAt(DeviceRecord primary) => primary.LastSeenAt + ((linking.Value.CompanionExpiryDays + 1) * DayMs);

    /// <summary>Unlinks every companion if the primary is overdue, the way <see cref="RemoveDeviceAsync"/> does: credentials first, then sockets (4401), queues and keys.</summary>
    private async Task ExpireCompanionsAsync()
    {
        if (!State.Exists || State.Devices.Count < 2 || !State.Devices.TryGetValue(DeviceAddress.PrimaryDeviceId, out var primary)
            || Now < CompanionsUnlinkAt(primary))
        {
            return;
        }

        var expired = State.Devices.Keys.Where(id => id != DeviceAddress.PrimaryDeviceId).ToList();
        foreach (var deviceId in expired)
        {
            State.Devices.Remove(deviceId);
        }

        await ChangedAsync(byDeviceId: null);
        foreach (var deviceId in expired)
        {
            await Device(deviceId).RemoveAsync();
        }

        ClusterMetrics.CompanionsExpired.Add(expired.Count);
        await ArmCompanionExpiryAsync(updateReminder: true);
    }

    /// <summary>
    /// Within Linking:CompanionExpiryWarningDays of the unlink, tells each connected companion not yet told during this
    /// absence of the primary (<c>companionsExpiring</c>); one that is not connected is told at a later request.
    /// </summary>
    private async Task WarnCompanionsAsync()
    {
        var warningDays = linking.Value.CompanionExpiryWarningDays;
        if (warningDays == 0 || !State.Devices.TryGetValue(DeviceAddress.PrimaryDeviceId, out var primary))
        {
            return;
        }

        var unlinkAt = CompanionsUnlinkAt(primary);
        if (Now < unlinkAt - (warningDays * DayMs))
        {
            return;
        }

        var warning = EventJson.CompanionsExpiring(unlinkAt);
        var warned = false;
        foreach (var companion in State.Devices.Values)
        {
            if (companion.DeviceId != DeviceAddress.PrimaryDeviceId && companion.ExpiryWarnedFor != primary.LastSeenAt
                && await Device(companion.DeviceId).TryPublishEventAsync(warning))
            {
                companion.ExpiryWarnedFor = primary.LastSeenAt;
                warned = true;
            }
        }

        if (warned)
        {
            await account.WriteStateAsync();
        }
    }
}
