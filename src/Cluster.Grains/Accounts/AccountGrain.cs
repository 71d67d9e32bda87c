using System.Security.Cryptography;
using System.Text;
using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Signal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cluster.Grains.Accounts;

/// <summary>
/// Not reentrant: one call at a time is what makes registration, linking (token, limit, key index, lowest free id)
/// and removal race-free without locks. Read-only calls (<c>[ReadOnly]</c> on the interface) may interleave.
/// </summary>
internal sealed partial class AccountGrain(
    [PersistentState("account", GrainStorage.Name)] IPersistentState<AccountState> account,
    IOptions<KeyFetchLimitOptions> fetchLimit,
    IOptions<DeviceLimitOptions> devices,
    IOptions<LinkingOptions> linking,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time) : Grain, IAccountGrain
{
    private static readonly TimeSpan InterestFlushInterval = TimeSpan.FromMinutes(5);

    private readonly KeyFetchLimiter limiter = new(fetchLimit.Value, time);

    /// <summary>The device set senders are checked against, built once per change (null: rebuild).</summary>
    private DeviceSet? deviceSet;

    /// <summary>Interest is recorded in memory and written at most every few minutes (a write per send would cost too much).</summary>
    private bool interestDirty;
    private IGrainTimer? interestFlush;

    private AccountState State => account.State;

    private string AccountId => this.GetPrimaryKeyString();

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        interestFlush = this.RegisterGrainTimer(FlushInterestAsync, new GrainTimerCreationOptions(InterestFlushInterval, InterestFlushInterval) { Interleave = false });
        // The timer only: the stored reminder already stands for the stored milestone (AccountGrain.Expiry.cs).
        return ArmCompanionExpiryAsync(updateReminder: false);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        interestFlush?.Dispose();
        companionExpiryTimer?.Dispose();
        await FlushInterestAsync(cancellationToken);
    }

    public async Task<bool> RegisterAsync(RegisterAccount request)
    {
        // A deletion under way (AccountGrain.Deletion.cs) frees the number only once it has finished.
        if (State.Exists || State.Deletion is not null)
        {
            return false;
        }

        var now = Now;
        var primary = NewDevice(DeviceAddress.PrimaryDeviceId, request.RegistrationId, request.Name, request.IdentityKey, request.PasswordHash, Guid.NewGuid(), now);

        // Keys first: a failure here leaves no account behind, and a retry simply replaces them.
        await Device(primary.DeviceId).BeginIncarnationAsync(primary.Incarnation);
        await Device(primary.DeviceId).InitializeKeysAsync(request.Keys);

        State.Exists = true;
        State.IdentityKey = request.IdentityKey;
        State.CreatedAt = now;
        State.Devices = new() { [primary.DeviceId] = primary };
        deviceSet = null;
        await account.WriteStateAsync();
        return true;
    }

    public async Task<LinkToken> CreateLinkTokenAsync()
    {
        await ExpireCompanionsAsync();
        var now = Now;
        State.LinkTokens.RemoveAll(t => t.ExpiresAt <= now);
        if (!State.Exists || State.LinkTokens.Count >= linking.Value.MaxOutstandingLinkTokens)
        {
            // Refused: when the oldest outstanding token expires, one may be created again.
            return new LinkToken(null, State.LinkTokens.Count > 0 ? State.LinkTokens.Min(t => t.ExpiresAt) : 0);
        }

        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        var expiresAt = now + (long)linking.Value.LinkTokenLifetime.TotalMilliseconds;
        State.LinkTokens.Add(new LinkTokenRecord(HashToken(token), expiresAt));
        await account.WriteStateAsync();
        ClusterMetrics.LinkTokens.Add(1);
        return new LinkToken(token, expiresAt);
    }

    public async Task<LinkResult> LinkDeviceAsync(LinkDevice request)
    {
        var status = CheckLink(request, out var token);
        if (status != LinkStatus.Linked)
        {
            ClusterMetrics.LinkAttempts.Add(1, new KeyValuePair<string, object?>("outcome", status.ToString()));
            return new LinkResult(status, 0);
        }

        // Only a successful link uses the token up.
        State.LinkTokens.Remove(token!);
        var added = await AddDeviceAsync(request.Device);
        ClusterMetrics.LinkAttempts.Add(1, new KeyValuePair<string, object?>("outcome", added.Status == AddDeviceStatus.Added ? "Linked" : added.Status.ToString()));
        return added.Status switch
        {
            AddDeviceStatus.Added => new LinkResult(LinkStatus.Linked, added.DeviceId),
            AddDeviceStatus.TooManyDevices => new LinkResult(LinkStatus.TooManyDevices, 0),
            AddDeviceStatus.StaleKeyIndex => new LinkResult(LinkStatus.StaleKeyIndex, 0),
            _ => new LinkResult(LinkStatus.BadToken, 0),
        };
    }

    private LinkStatus CheckLink(LinkDevice request, out LinkTokenRecord? token)
    {
        var now = Now;
        var hash = HashToken(request.Token);
        token = State.Exists
            ? State.LinkTokens.Find(t => t.ExpiresAt > now && CryptographicOperations.FixedTimeEquals(t.Hash, hash))
            : null;
        if (token is null)
        {
            return LinkStatus.BadToken;
        }

        if (State.Devices.Count >= devices.Value.MaxDevicesPerAccount)
        {
            return LinkStatus.TooManyDevices;
        }

        var device = request.Device;
        if (request.MetadataAccountId != AccountId || request.MetadataKeyIndex != device.KeyIndex)
        {
            return LinkStatus.BadLinkingMetadata;
        }

        if (device.KeyIndex <= State.MaxKeyIndex)
        {
            return LinkStatus.StaleKeyIndex;
        }

        var metadata = device.LinkingMetadata!;
        if (!XEdDsa.Verify(State.IdentityKey, AdvSignatures.AccountMessage(metadata, device.IdentityKey), device.AccountSignature))
        {
            return LinkStatus.BadAccountSignature;
        }

        return XEdDsa.Verify(device.IdentityKey, AdvSignatures.DeviceMessage(metadata, device.IdentityKey, State.IdentityKey), device.DeviceSignature)
            ? LinkStatus.Linked
            : LinkStatus.BadDeviceSignature;
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

        // A reused device id starts clean: nothing of the device that had it before (a late envelope included) survives,
        // and a socket of that device (which authenticated as its incarnation) can no longer attach.
        var device = Device(deviceId);
        var incarnation = Guid.NewGuid();
        await device.RemoveAsync();
        await device.BeginIncarnationAsync(incarnation);
        await device.InitializeKeysAsync(request.Keys);

        var linked = NewDevice(deviceId, request.RegistrationId, request.Name, request.IdentityKey, request.PasswordHash, incarnation, Now);
        linked.KeyIndex = request.KeyIndex;
        linked.LinkingMetadata = request.LinkingMetadata;
        linked.AccountSignature = request.AccountSignature;
        linked.DeviceSignature = request.DeviceSignature;
        State.Devices[deviceId] = linked;
        State.MaxKeyIndex = request.KeyIndex;
        await ChangedAsync(byDeviceId: null);
        await ArmCompanionExpiryAsync(updateReminder: true);
        return new AddDeviceResult(AddDeviceStatus.Added, deviceId);
    }

    public async Task<DeviceListStatus> PublishDeviceListAsync(
        SignedDeviceList list, long timestampMs, string listAccountId, IReadOnlyList<long> validIndexes, int byDeviceId)
    {
        if (!XEdDsa.Verify(State.IdentityKey, AdvSignatures.DeviceListMessage(list.List), list.Signature))
        {
            return DeviceListStatus.BadSignature;
        }

        if (listAccountId != AccountId)
        {
            return DeviceListStatus.WrongAccount;
        }

        if (State.DeviceList is not null && timestampMs <= State.DeviceListTimestamp)
        {
            return DeviceListStatus.Stale;
        }

        var linked = State.Devices.Values.Where(d => d.DeviceId != DeviceAddress.PrimaryDeviceId).Select(d => d.KeyIndex).Order();
        if (!linked.SequenceEqual(validIndexes.Order()))
        {
            return DeviceListStatus.Mismatch;
        }

        State.DeviceList = list.List;
        State.DeviceListSignature = list.Signature;
        State.DeviceListTimestamp = timestampMs;
        await ChangedAsync(byDeviceId);
        return DeviceListStatus.Published;
    }

    public async Task<RemoveDeviceStatus> RemoveDeviceAsync(int deviceId, int byDeviceId)
    {
        if (deviceId == DeviceAddress.PrimaryDeviceId)
        {
            return RemoveDeviceStatus.IsPrimary;
        }

        if (!State.Exists || !State.Devices.Remove(deviceId))
        {
            return RemoveDeviceStatus.NotFound;
        }

        // Credentials go first (the state write), then the device's socket, queue and keys.
        await ChangedAsync(byDeviceId);
        await Device(deviceId).RemoveAsync();
        await ArmCompanionExpiryAsync(updateReminder: true);
        return RemoveDeviceStatus.Removed;
    }

    public async Task<DeviceCredential?> AuthenticateAsync(int deviceId)
    {
        // Before the primary's own visit counts: a primary back after the expiry finds its companions gone.
        await ExpireCompanionsAsync();
        if (!State.Exists || !State.Devices.TryGetValue(deviceId, out var device))
        {
            return null;
        }

        var today = StartOfDay(Now);
        if (device.LastSeenAt != today)
        {
            device.LastSeenAt = today;
            await account.WriteStateAsync();
            await ArmCompanionExpiryAsync(updateReminder: true);
        }

        if (deviceId != DeviceAddress.PrimaryDeviceId)
        {
            await WarnCompanionsAsync();
        }

        return new DeviceCredential(device.PasswordHash, device.IdentityKey, State.Devices.Count, device.Incarnation);
    }

    public Task<DeviceSet> GetDeviceSetAsync() => Task.FromResult(deviceSet ??= BuildDeviceSet());

    public async Task<DeviceSet> GetDeviceSetForAsync(string senderAccount)
    {
        await ExpireCompanionsAsync();
        RecordInterest(senderAccount);
        return await GetDeviceSetAsync();
    }

    public async Task<IReadOnlyList<DeviceSummary>> GetDevicesAsync()
    {
        await ExpireCompanionsAsync();
        var list = new List<DeviceSummary>(State.Devices.Count);
        foreach (var device in State.Devices.Values)
        {
            list.Add(new DeviceSummary(device.DeviceId, device.Name, device.RegistrationId, device.LinkedAt, device.LastSeenAt));
        }

        return list;
    }

    public async Task<AccountDevices> GetDeviceIdentitiesAsync(string requesterAccount)
    {
        await ExpireCompanionsAsync();
        if (!State.Exists)
        {
            return new AccountDevices(false, [], null, []);
        }

        RecordInterest(requesterAccount);
        var identities = State.Devices.Values
            .Select(d => new DeviceIdentity(d.DeviceId, d.RegistrationId, d.IdentityKey, d.KeyIndex, d.LinkingMetadata, d.AccountSignature, d.DeviceSignature))
            .ToList();
        var list = State.DeviceList is { } bytes ? new SignedDeviceList(bytes, State.DeviceListSignature!) : null;
        return new AccountDevices(true, State.IdentityKey, list, identities);
    }

    public async Task<KeyTargets> GetKeyTargetsAsync(DeviceAddress requester, int? deviceId)
    {
        await ExpireCompanionsAsync();
        if (!State.Exists || (deviceId is { } id && !State.Devices.ContainsKey(id)))
        {
            return new KeyTargets { Status = KeyTargetsStatus.NotFound };
        }

        if (!limiter.TryAcquire(requester, out var retryAfter))
        {
            return new KeyTargets { Status = KeyTargetsStatus.RateLimited, RetryAfter = retryAfter };
        }

        RecordInterest(requester.AccountId);
        var targets = new List<KeyTarget>();
        foreach (var device in State.Devices.Values)
        {
            if (deviceId is null || device.DeviceId == deviceId)
            {
                targets.Add(new KeyTarget(device.DeviceId, device.RegistrationId, device.IdentityKey));
            }
        }

        return new KeyTargets { Status = KeyTargetsStatus.Found, IdentityKey = State.IdentityKey, Devices = targets };
    }

    public Task NotifyDeviceListChangedAsync(string accountId, long version)
    {
        var deviceEvent = EventJson.DeviceListChanged(accountId, version);
        foreach (var deviceId in State.Devices.Keys)
        {
            _ = Device(deviceId).PublishEventAsync(deviceEvent);
        }

        return Task.CompletedTask;
    }

    private IDeviceGrain Device(int deviceId) => GrainFactory.Get<IDeviceGrain>(new DeviceAddress(AccountId, deviceId).GrainKey);

    /// <summary>
    /// The devices changed: a new version is stored, then announced to the account's other devices and to every
    /// interested account, in the background (the caller is answered once the change is stored).
    /// </summary>
    private async Task ChangedAsync(int? byDeviceId)
    {
        deviceSet = null;
        State.DeviceListVersion++;
        await account.WriteStateAsync();
        interestDirty = false;
        ClusterMetrics.DeviceListChanges.Add(1);

        var version = State.DeviceListVersion;
        var deviceEvent = EventJson.DeviceListChanged(AccountId, version);
        foreach (var deviceId in State.Devices.Keys)
        {
            if (deviceId != byDeviceId)
            {
                _ = Device(deviceId).PublishEventAsync(deviceEvent);
            }
        }

        var cutoff = Now - (long)linking.Value.InterestLifetime.TotalMilliseconds;
        var interested = State.InterestedAccounts.Where(i => i.Value > cutoff && i.Key != AccountId).Select(i => i.Key).ToArray();
        ClusterMetrics.DeviceListFanout.Record(interested.Length);
        _ = AnnounceAsync(interested, version);
    }

    /// <summary>
    /// One one-way message per interested account, in batches with a yield between them, so that an account with
    /// 100,000 interested contacts keeps serving its own requests while the announcement goes out.
    /// </summary>
    private async Task AnnounceAsync(string[] interested, long version)
    {
        var batch = linking.Value.FanoutBatchSize;
        for (var i = 0; i < interested.Length; i++)
        {
            _ = GrainFactory.Get<IAccountGrain>(interested[i]).NotifyDeviceListChangedAsync(AccountId, version);
            if ((i + 1) % batch == 0)
            {
                await Task.Yield();
            }
        }
    }

    private void RecordInterest(string otherAccount)
    {
        if (otherAccount == AccountId)
        {
            return;
        }

        // Kept to the hour: a contact that sends a thousand messages dirties the state once.
        var hour = Now - (Now % 3_600_000);
        if (!State.InterestedAccounts.TryGetValue(otherAccount, out var last) || last < hour)
        {
            if (last == 0 && State.InterestedAccounts.Count >= linking.Value.MaxInterestedAccounts)
            {
                ForgetOldestInterest(State.InterestedAccounts.Count - linking.Value.MaxInterestedAccounts + 1);
            }

            State.InterestedAccounts[otherAccount] = hour;
            interestDirty = true;
        }
    }

    /// <summary>
    /// Forgets the <paramref name="count"/> accounts interested longest ago (Linking:MaxInterestedAccounts): they hear
    /// of this account's changes again once they fetch its devices or keys or message it (then 409/410 tells them).
    /// </summary>
    private void ForgetOldestInterest(int count)
    {
        List<string> oldest = count == 1
            ? [State.InterestedAccounts.MinBy(i => i.Value).Key]
            : State.InterestedAccounts.OrderBy(i => i.Value).Take(count).Select(i => i.Key).ToList();
        foreach (var forgotten in oldest)
        {
            State.InterestedAccounts.Remove(forgotten);
        }

        ClusterMetrics.InterestsForgotten.Add(oldest.Count);
    }

    private async Task FlushInterestAsync(CancellationToken cancellationToken)
    {
        if (!interestDirty || !State.Exists)
        {
            return;
        }

        var cutoff = Now - (long)linking.Value.InterestLifetime.TotalMilliseconds;
        foreach (var stale in State.InterestedAccounts.Where(i => i.Value <= cutoff).Select(i => i.Key).ToList())
        {
            State.InterestedAccounts.Remove(stale);
        }

        if (State.InterestedAccounts.Count > linking.Value.MaxInterestedAccounts)
        {
            // A set stored before the bound existed, or under a higher one, is trimmed the same way.
            ForgetOldestInterest(State.InterestedAccounts.Count - linking.Value.MaxInterestedAccounts);
        }

        interestDirty = false;
        await account.WriteStateAsync(cancellationToken);
    }

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

    /// <summary>The record of a device registered (the primary) or linked at <paramref name="now"/>: seen that day.</summary>
    private static DeviceRecord NewDevice(
        int deviceId, int registrationId, string? name, byte[] identityKey, string passwordHash, Guid incarnation, long now) => new()
        {
            DeviceId = deviceId,
            RegistrationId = registrationId,
            Name = name,
            IdentityKey = identityKey,
            PasswordHash = passwordHash,
            LinkedAt = now,
            LastSeenAt = StartOfDay(now),
            Incarnation = incarnation,
        };

    private static byte[] HashToken(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static long StartOfDay(long unixMs) => unixMs - (unixMs % 86_400_000);
}
