using Cluster.Silo.Protocol;

namespace Cluster.Silo.Devices;

/// <summary>409: the device ids differ from the destination's devices.</summary>
public sealed record MismatchedDevicesError(string Error, string Message, IReadOnlyList<int> MissingDevices, IReadOnlyList<int> ExtraDevices);

/// <summary>410: registration ids that are not the devices' current ones.</summary>
public sealed record StaleDevicesError(string Error, string Message, IReadOnlyList<int> StaleDevices);

/// <summary>One member account's part of a group send's 409: its devices the view left out or named wrongly, ascending.</summary>
public sealed record AccountDeviceMismatch(string AccountId, IReadOnlyList<int> MissingDevices, IReadOnlyList<int> ExtraDevices);

/// <summary>One member account's part of a group send's 410.</summary>
public sealed record AccountStaleDevices(string AccountId, IReadOnlyList<int> StaleDevices);

/// <summary>409 of a group send: members left out or not members, and per member account the device mismatch.</summary>
public sealed record GroupMismatchedDevicesError(
    string Error, string Message, IReadOnlyList<string> MissingMembers, IReadOnlyList<string> UnknownMembers, IReadOnlyList<AccountDeviceMismatch> Accounts);

/// <summary>410 of a group send: per member account, the registration ids that are not current.</summary>
public sealed record GroupStaleDevicesError(string Error, string Message, IReadOnlyList<AccountStaleDevices> Accounts);

/// <summary>
/// The answers to a fan-out (message copies, call offers, group sends) whose copies do not match the destination's
/// devices: 409 <c>mismatched_devices</c> (ids missing or extra) and 410 <c>stale_devices</c> (registration ids not
/// current). Written once so that every fan-out answers alike; the device grain decides which one applies.
/// </summary>
internal static class DeviceMismatch
{
    /// <summary>409 <c>mismatched_devices</c>, for any transport.</summary>
    /// <param name="message">What did not cover whose devices, e.g. "the messages do not cover exactly the destination's current devices".</param>
    /// <param name="missing">Current devices the fan-out left out, ascending.</param>
    /// <param name="extra">Devices named that the destination does not have, ascending.</param>
    public static Answer MismatchedAnswer(string message, IReadOnlyList<int> missing, IReadOnlyList<int> extra) => Answer.Json(
        StatusCodes.Status409Conflict, new MismatchedDevicesError("mismatched_devices", message, missing, extra), ProtocolJson.Default.MismatchedDevicesError);

    /// <summary>410 <c>stale_devices</c>, for any transport.</summary>
    public static Answer StaleAnswer(IReadOnlyList<int> stale) => Answer.Json(
        StatusCodes.Status410Gone, new StaleDevicesError("stale_devices", "some registration ids are not the devices' current ones", stale), ProtocolJson.Default.StaleDevicesError);

    /// <summary>A group send's 409 <c>mismatched_devices</c>: the direct send's lists, per member account, plus the members that differ.</summary>
    public static Answer GroupMismatchedAnswer(IReadOnlyList<string> missingMembers, IReadOnlyList<string> unknownMembers, IReadOnlyList<AccountDeviceMismatch> accounts) => Answer.Json(
        StatusCodes.Status409Conflict,
        new GroupMismatchedDevicesError(
            "mismatched_devices", "the recipients do not cover exactly the group's current members and their devices", missingMembers, unknownMembers, accounts),
        ProtocolJson.Default.GroupMismatchedDevicesError);

    /// <summary>A group send's 410 <c>stale_devices</c>, per member account.</summary>
    public static Answer GroupStaleAnswer(IReadOnlyList<AccountStaleDevices> accounts) => Answer.Json(
        StatusCodes.Status410Gone,
        new GroupStaleDevicesError("stale_devices", "some registration ids are not the devices' current ones", accounts),
        ProtocolJson.Default.GroupStaleDevicesError);
}
