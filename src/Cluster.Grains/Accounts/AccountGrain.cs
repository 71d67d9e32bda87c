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
    IOptions<DeviceLimitOptions> devices,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time) : Grain, IAccountGrain
{
    private readonly KeyFetchLimiter limiter = new(fetchLimit.Value, time);

    /// <summary>The device set senders are checked against, built once per change (null: rebuild).</summary>
    private DeviceSet? deviceSet;

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
        deviceSet = null;
        await account.WriteStateAsync();
        return true;
    }

    public async Task<AddDeviceResult> AddDeviceAsync(AddDevice request)
    {
        if (!State.Exists)
        {
            return new AddDeviceResult(AddDeviceStatus.NoAccount, 0);
        }

        if (State.Devices.Count >= devices.Value.MaxDevicesPerAccount)
        {
            return new AddDeviceResult(AddDeviceStatus.TooManyDevices, 0);
        }

        if (request.KeyIndex <= State.MaxKeyIndex)
        {
            return new AddDeviceResult(AddDeviceStatus.StaleKeyIndex, 0);
        }

        var deviceId = DeviceAddress.PrimaryDeviceId + 1;
        while (State.Devices.ContainsKey(deviceId))
        {
            deviceId++;
        }

        // A reused device id gets fresh keys; its inbox was purged when the previous device was removed.
        var address = new DeviceAddress(AccountId, deviceId);
        await GrainFactory.GetGrain<IDeviceGrain>(address.GrainKey).InitializeKeysAsync(request.Keys);

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        State.Devices[deviceId] = new DeviceRecord
        {
            DeviceId = deviceId,
            RegistrationId = request.RegistrationId,
            Name = request.Name,
            IdentityKey = request.IdentityKey,
            PasswordHash = request.PasswordHash,
            LinkedAt = now,
            LastSeenAt = StartOfDay(now),
            KeyIndex = request.KeyIndex,
            LinkingMetadata = request.LinkingMetadata,
            AccountSignature = request.AccountSignature,
            DeviceSignature = request.DeviceSignature,
        };
        State.MaxKeyIndex = request.KeyIndex;
        deviceSet = null;
        await account.WriteStateAsync();
        return new AddDeviceResult(AddDeviceStatus.Added, deviceId);
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

        return new DeviceCredential(device.PasswordHash, device.IdentityKey, State.Devices.Count);
    }

    public Task<DeviceSet> GetDeviceSetAsync() => Task.FromResult(deviceSet ??= BuildDeviceSet());

    private DeviceSet BuildDeviceSet()
    {
        if (!State.Exists)
        {
            return DeviceSet.None;
        }

        var ids = new int[State.Devices.Count];
        var registrationIds = new int[ids.Length];
        var i = 0;
        foreach (var device in State.Devices.Values)
        {
            ids[i] = device.DeviceId;
            registrationIds[i++] = device.RegistrationId;
        }

        return new DeviceSet(true, ids, registrationIds);
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
