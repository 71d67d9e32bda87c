using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;

namespace Cluster.Grains.Messaging;

/// <summary>
/// The protocol's 409/410 rule for anything a client addresses to each device of an account (message copies, call
/// offers): the copies name exactly the destination's current devices (for the sender's own account: every device but
/// the sender), each with its current registration id.
/// </summary>
public static class DeviceCoverage
{
    /// <summary>
    /// Null when <paramref name="copies"/> cover exactly the right devices; otherwise what is wrong, lists ascending.
    /// A mismatch of the device set wins over stale registration ids (409 before 410).
    /// </summary>
    public static DeviceCoverageMismatch? Check<T>(
        DeviceSet devices, DeviceAddress sender, string destination, IReadOnlyList<T> copies, Func<T, (int DeviceId, int RegistrationId)> address)
    {
        var ownAccount = destination == sender.AccountId;
        List<int>? missing = null;
        List<int>? extra = null;
        List<int>? stale = null;
        var named = new HashSet<int>(copies.Count);
        for (var i = 0; i < copies.Count; i++)
        {
            var (deviceId, registrationId) = address(copies[i]);
            named.Add(deviceId);
            var index = Array.BinarySearch(devices.DeviceIds, deviceId);
            if (index < 0 || (ownAccount && deviceId == sender.DeviceId))
            {
                (extra ??= []).Add(deviceId);
            }
            else if (devices.RegistrationIds[index] != registrationId)
            {
                (stale ??= []).Add(deviceId);
            }
        }

        foreach (var deviceId in devices.DeviceIds)
        {
            if (!named.Contains(deviceId) && !(ownAccount && deviceId == sender.DeviceId))
            {
                (missing ??= []).Add(deviceId);
            }
        }

        if (missing is not null || extra is not null)
        {
            return new DeviceCoverageMismatch(Sorted(missing), Sorted(extra), []);
        }

        return stale is not null ? new DeviceCoverageMismatch([], [], Sorted(stale)) : null;
    }

    private static int[] Sorted(List<int>? ids)
    {
        if (ids is null)
        {
            return [];
        }

        ids.Sort();
        return [.. ids];
    }
}

/// <summary>Why copies do not cover a destination: missing or extra devices (409), else stale registration ids (410).</summary>
public sealed record DeviceCoverageMismatch(int[] MissingDevices, int[] ExtraDevices, int[] StaleDevices)
{
    /// <summary>Whether the device set itself differs (409); false when only registration ids are stale (410).</summary>
    public bool IsMismatch => MissingDevices.Length > 0 || ExtraDevices.Length > 0;
}
