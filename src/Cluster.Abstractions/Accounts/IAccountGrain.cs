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

    /// <summary>Makes a single-use link token, valid 10 minutes (null token: too many outstanding).</summary>
    [Alias("CreateLinkToken")]
    Task<LinkToken> CreateLinkTokenAsync();

    /// <summary>
    /// Links a companion, checking atomically: the token, the device limit, the key index and linking metadata, and
    /// both ADV signatures. Only a successful link uses the token up.
    /// </summary>
    [Alias("LinkDevice")]
    Task<LinkResult> LinkDeviceAsync(LinkDevice request);

    /// <summary>
    /// Adds a companion with the lowest free device id, if the device limit and key index allow, without a token or
    /// signature checks: for trusted in-cluster callers (tools, tests). Clients link through <see cref="LinkDeviceAsync"/>.
    /// </summary>
    [Alias("AddDevice")]
    Task<AddDeviceResult> AddDeviceAsync(AddDevice request);

    /// <summary>
    /// The credential of a device, or null when there is no such device; counts as the device being seen now.
    /// </summary>
    [Alias("Authenticate")]
    Task<DeviceCredential?> AuthenticateAsync(int deviceId);

    /// <summary>Stores a signed device list published by <paramref name="byDeviceId"/> (the primary) and announces the change.</summary>
    [Alias("PublishDeviceList")]
    Task<DeviceListStatus> PublishDeviceListAsync(SignedDeviceList list, long timestampMs, string listAccountId, IReadOnlyList<long> validIndexes, int byDeviceId);

    /// <summary>Removes a companion: its credentials stop working at once, its socket is closed with 4401, its queue purged.</summary>
    [Alias("RemoveDevice")]
    Task<RemoveDeviceStatus> RemoveDeviceAsync(int deviceId, int byDeviceId);

    /// <summary>Everything a sender needs to verify the devices; <paramref name="requesterAccount"/> becomes interested.</summary>
    [Alias("GetDeviceIdentities")]
    Task<AccountDevices> GetDeviceIdentitiesAsync(string requesterAccount);

    /// <summary>Tells every device of this account that <paramref name="accountId"/>'s devices changed.</summary>
    [Alias("NotifyDeviceListChanged"), OneWay]
    Task NotifyDeviceListChangedAsync(string accountId, long version);

    /// <summary>The current device set for a send by <paramref name="senderAccount"/>, which becomes interested; from memory.</summary>
    /// <remarks>Not <c>[ReadOnly]</c>: it records the sender's interest in the account's state.</remarks>
    [Alias("GetDeviceSetFor")]
    Task<DeviceSet> GetDeviceSetForAsync(string senderAccount);

    /// <summary>The current device set, for validating a send against it; answered from memory.</summary>
    /// <remarks><c>[ReadOnly]</c>: it changes no state (it may fill the in-memory cache of the set, which any call rebuilds alike).</remarks>
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

    /// <summary>
    /// Deletes the account and every trace of it (devices, queues, keys, push subscriptions, every
    /// <c>IAccountDeletionStep</c>); only by the primary. Credentials stop working first; a deletion interrupted after
    /// that is finished by a reminder.
    /// </summary>
    [Alias("DeleteAccount")]
    Task<DeleteAccountStatus> DeleteAccountAsync(int byDeviceId);

    /// <summary>Warns or unlinks the companions if the primary has been away long enough (the account's own expiry timer and reminder call it).</summary>
    [Alias("CheckCompanionExpiry")]
    Task CheckCompanionExpiryAsync();

    /// <summary>Forgets that <paramref name="accountId"/> was interested in this account (it was deleted).</summary>
    [Alias("ForgetInterest"), OneWay]
    Task ForgetInterestAsync(string accountId);
}
