using Cluster.Silo.Protocol;

namespace Cluster.Silo.Devices;

/// <summary>409: the device ids differ from the destination's devices.</summary>
public sealed record MismatchedDevicesError(string Error, string Message, IReadOnlyList<int> MissingDevices, IReadOnlyList<int> ExtraDevices);

/// <summary>410: registration ids that are not the devices' current ones.</summary>
public sealed record StaleDevicesError(string Error, string Message, IReadOnlyList<int> StaleDevices);

/// <summary>
/// The answers to a fan-out (message copies, call offers, group sends next) whose copies do not match the destination's
/// devices: 409 <c>mismatched_devices</c> (ids missing or extra) and 410 <c>stale_devices</c> (registration ids not
/// current). Written once so that every fan-out answers alike; the device grain decides which one applies.
/// </summary>
internal static class DeviceMismatch
{
    /// <param name="message">What did not cover whose devices, e.g. "the messages do not cover exactly the destination's current devices".</param>
    /// <param name="missing">Current devices the fan-out left out, ascending.</param>
    /// <param name="extra">Devices named that the destination does not have, ascending.</param>
    public static IResult Mismatched(string message, IReadOnlyList<int> missing, IReadOnlyList<int> extra) => Results.Json(
        new MismatchedDevicesError("mismatched_devices", message, missing, extra),
        ProtocolJson.Default.MismatchedDevicesError,
        statusCode: StatusCodes.Status409Conflict);

    public static IResult Stale(IReadOnlyList<int> stale) => Results.Json(
        new StaleDevicesError("stale_devices", "some registration ids are not the devices' current ones", stale),
        ProtocolJson.Default.StaleDevicesError,
        statusCode: StatusCodes.Status410Gone);
}
