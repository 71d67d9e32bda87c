using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cluster.Grains.Accounts;

/// <summary>
/// Not reentrant: one call at a time is what makes registration and (later) linking race-free.
/// </summary>
internal sealed class AccountGrain(
    [PersistentState("account", GrainStorage.Name)] IPersistentState<AccountState> account,
    IOptions<KeyFetchLimitOptions> fetchLimit,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time) : Grain, IAccountGrain
{
    private readonly KeyFetchLimiter limiter = new(fetchLimit.Value, time);

    private AccountState State => account.State;

    private string AccountId => this.GetPrimaryKeyString();

    public async Task<bool> RegisterAsync(RegisterAccount request)
    {
        if (State.Exists)
        {
            return false;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var primary = new DeviceRecord
        {
            DeviceId = DeviceAddress.PrimaryDeviceId,
            RegistrationId = request.RegistrationId,
            Name = request.Name,
            IdentityKey = request.IdentityKey,
            PasswordHash = request.PasswordHash,
            LinkedAt = now,
            LastSeenAt = StartOfDay(now),
        };

        // Keys first: a failure here leaves no account behind, and a retry simply replaces them.
        await GrainFactory.GetGrain<IDeviceGrain>(new DeviceAddress(AccountId, primary.DeviceId).GrainKey)
            .InitializeKeysAsync(request.Keys);

        State.Exists = true;
        State.IdentityKey = request.IdentityKey;
        State.CreatedAt = now;
        State.Devices = new() { [primary.DeviceId] = primary };
        await account.WriteStateAsync();
        return true;
    }

    public async Task<DeviceCredential?> AuthenticateAsync(int deviceId)
    {
        if (!State.Exists || !State.Devices.TryGetValue(deviceId, out var device))
        {
            return null;
        }

        var today = StartOfDay(time.GetUtcNow().ToUnixTimeMilliseconds());
        if (device.LastSeenAt != today)
        {
            device.LastSeenAt = today;
            await account.WriteStateAsync();
        }

        return new DeviceCredential(device.PasswordHash, device.IdentityKey);
    }

    public Task<IReadOnlyList<DeviceSummary>> GetDevicesAsync()
    {
        var devices = new List<DeviceSummary>(State.Devices.Count);
        foreach (var device in State.Devices.Values)
        {
            devices.Add(new DeviceSummary(device.DeviceId, device.Name, device.RegistrationId, device.LinkedAt, device.LastSeenAt));
        }

        return Task.FromResult<IReadOnlyList<DeviceSummary>>(devices);
    }

    public Task<KeyTargets> GetKeyTargetsAsync(DeviceAddress requester, int? deviceId)
    {
        if (!State.Exists || (deviceId is { } id && !State.Devices.ContainsKey(id)))
        {
            return Task.FromResult(new KeyTargets { Status = KeyTargetsStatus.NotFound });
        }

        if (!limiter.TryAcquire(requester, out var retryAfter))
        {
            return Task.FromResult(new KeyTargets { Status = KeyTargetsStatus.RateLimited, RetryAfter = retryAfter });
        }

        var targets = new List<KeyTarget>();
        foreach (var device in State.Devices.Values)
        {
            if (deviceId is null || device.DeviceId == deviceId)
            {
                targets.Add(new KeyTarget(device.DeviceId, device.RegistrationId, device.IdentityKey));
            }
        }

        return Task.FromResult(new KeyTargets { Status = KeyTargetsStatus.Found, IdentityKey = State.IdentityKey, Devices = targets });
    }

    private static long StartOfDay(long unixMs) => unixMs - (unixMs % 86_400_000);
}
