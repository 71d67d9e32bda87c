using Orleans.Concurrency;

namespace Cluster.Abstractions.Accounts;

/// <summary>
/// One account (key: its E.164 number): the primary identity key and the device registry. It alone decides who the
/// devices are, so checks against the device set are race-free without locks.
/// </summary>
[Alias("IAccountGrain")]
public interface IAccountGrain : IGrainWithStringKey
{
    /// <summary>Creates the account with its primary device; false when the account exists already.</summary>
    [Alias("Register")]
    Task<bool> RegisterAsync(RegisterAccount request);

    /// <summary>
    /// Adds a companion with the lowest free device id, if the device limit and key index allow. The caller has checked
    /// everything else (link token, signatures).
    /// </summary>
    [Alias("AddDevice")]
    Task<AddDeviceResult> AddDeviceAsync(AddDevice request);

    /// <summary>
    /// The credential of a device, or null when there is no such device; counts as the device being seen now.
    /// </summary>
    [Alias("Authenticate")]
    Task<DeviceCredential?> AuthenticateAsync(int deviceId);

    /// <summary>The current device set, for validating a send against it; answered from memory.</summary>
    [Alias("GetDeviceSet"), ReadOnly]
    Task<DeviceSet> GetDeviceSetAsync();

    /// <summary>The account's devices, for its own devices.</summary>
    [Alias("GetDevices")]
    Task<IReadOnlyList<DeviceSummary>> GetDevicesAsync();

    /// <summary>
    /// Which devices a prekey fetch by <paramref name="requester"/> covers (<paramref name="deviceId"/> null: all),
    /// subject to the per-(requester, account) rate limit.
    /// </summary>
    [Alias("GetKeyTargets")]
    Task<KeyTargets> GetKeyTargetsAsync(DeviceAddress requester, int? deviceId);
}
