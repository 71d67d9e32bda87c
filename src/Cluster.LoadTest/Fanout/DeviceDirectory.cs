using System.Collections.Concurrent;
using Cluster.LoadTest.Devices;

namespace Cluster.LoadTest.Fanout;

/// <summary>One device as a sender names it: its id and registration id.</summary>
internal readonly record struct DeviceEntry(int DeviceId, int RegistrationId);

/// <summary>
/// What senders believe each account's devices are: the run's own model, or after a 409/410 what the server
/// answered to <c>GET /v1/accounts/{id}/devices</c>, until the account's devices change again.
/// </summary>
internal sealed class DeviceDirectory(RunContext context)
{
    private readonly ConcurrentDictionary<int, IReadOnlyList<DeviceEntry>> fetched = new();

    public IReadOnlyList<DeviceEntry> Get(SimAccount account, int excludeDeviceId) =>
        Without(fetched.TryGetValue(account.Index, out var list) ? list : FromModel(account), excludeDeviceId);

    /// <summary>The run changed the account's devices itself: its model is current again.</summary>
    public void Changed(SimAccount account) => fetched.TryRemove(account.Index, out _);

    public async Task<IReadOnlyList<DeviceEntry>> RefreshAsync(SimDevice asking, SimAccount account, int excludeDeviceId, CancellationToken cancellationToken)
    {
        var answer = await Failures.RetryAsync(
            attempt => asking.Client(context.Gateways, attempt).GetAccountDevicesAsync(account.AccountId, cancellationToken),
            "devices",
            context.Status,
            cancellationToken);
        var list = answer.Devices.Select(d => new DeviceEntry(d.DeviceId, d.RegistrationId)).OrderBy(d => d.DeviceId).ToList();
        fetched[account.Index] = list;
        return Without(list, excludeDeviceId);
    }

    private static List<DeviceEntry> FromModel(SimAccount account) =>
        [.. account.Devices.Select(d => new DeviceEntry(d.DeviceId, d.Keys.RegistrationId))];

    private static IReadOnlyList<DeviceEntry> Without(IReadOnlyList<DeviceEntry> list, int deviceId) =>
        deviceId == 0 ? list : [.. list.Where(d => d.DeviceId != deviceId)];
}
