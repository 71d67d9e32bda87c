using Cluster.Abstractions;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;

namespace Cluster.Grains.Accounts;

/// <summary>
/// Companion expiry (Linking:CompanionExpiryDays): once the primary has stayed away that many whole UTC days, every
/// companion is unlinked as if the primary had removed it. The check is lazy and complete: it runs at every entry
/// point that could use a companion (its authentication, a sender's or contact's look-up of the devices, link-token
/// creation), so an overdue companion is gone before anyone can use or see it; no reminder is needed.
/// </summary>
internal sealed partial class AccountGrain
{
    private const long DayMs = 86_400_000;

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
