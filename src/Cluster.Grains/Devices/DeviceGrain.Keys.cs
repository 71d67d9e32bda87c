using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Keys;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Cluster.Grains.Devices;

/// <summary>
/// One device: its prekeys (this file) and its inbox and socket (DeviceGrain.Inbox.cs).
/// Reentrant, so that a slow commit of one enqueue does not hold up the next one or an ack; the prekey operations take
/// <see cref="keysLock"/> so that each bundle fetch runs alone and is persisted before it answers, which is what hands
/// every one-time key out at most once, ever, across concurrent fetches and restarts.
/// </summary>
[Reentrant]
[SocketPlacement]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "SemaphoreSlim holds no OS handle unless AvailableWaitHandle is used, which it never is here")]
internal sealed partial class DeviceGrain(
    [PersistentState("keys", GrainStorage.Name)] IPersistentState<DeviceKeysState> keys,
    [PersistentState("inbox", GrainStorage.Name)] IPersistentState<DeviceInboxState> inboxState,
    IInboxStore store,
    IOptions<MessagingOptions> messaging,
    IClusterManifestProvider clusterManifest,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time) : Grain, IDeviceGrain, IGrainMigrationParticipant
{
    /// <summary>Below this many one-time keys of a kind the device is told to upload more (<c>keysLow</c>).</summary>
    public const int KeysLowThreshold = 10;

    private readonly SemaphoreSlim keysLock = new(1, 1);

    private DeviceKeysState Keys => keys.State;

    private string Address => this.GetPrimaryKeyString();

    public async Task InitializeKeysAsync(PreKeyUpload upload)
    {
        await keysLock.WaitAsync();
        try
        {
            keys.State = new DeviceKeysState();
            Apply(upload);
            await keys.WriteStateAsync();
        }
        finally
        {
            keysLock.Release();
        }
    }

    public async Task UploadKeysAsync(PreKeyUpload upload)
    {
        await keysLock.WaitAsync();
        try
        {
            Apply(upload);
            await keys.WriteStateAsync();
        }
        finally
        {
            keysLock.Release();
        }
    }

    public Task<PreKeyCounts> GetCountsAsync() => Task.FromResult(Counts());

    public async Task<PreKeyBundle?> TakeBundleAsync()
    {
        await keysLock.WaitAsync();
        try
        {
            return await TakeBundleLockedAsync();
        }
        finally
        {
            keysLock.Release();
        }
    }

    public async Task ClearKeysAsync()
    {
        await keysLock.WaitAsync();
        try
        {
            await keys.ClearStateAsync();
            keys.State = new DeviceKeysState();
        }
        finally
        {
            keysLock.Release();
        }
    }

    private async Task<PreKeyBundle?> TakeBundleLockedAsync()
    {
        if (Keys.SignedPreKey is not { } signedPreKey || Keys.KemLastResortKey is not { } lastResort)
        {
            return null;
        }

        var before = Counts();
        var oneTime = TakeFirst(Keys.OneTimePreKeys);
        var kemOneTime = TakeFirst(Keys.KemOneTimeKeys);
        if (oneTime is not null || kemOneTime is not null)
        {
            await keys.WriteStateAsync();
        }

        ClusterMetrics.PreKeyBundles.Add(1);
        if (oneTime is null)
        {
            ClusterMetrics.PreKeysExhausted.Add(1, new KeyValuePair<string, object?>("kind", "ec"));
        }

        if (kemOneTime is null)
        {
            ClusterMetrics.PreKeysExhausted.Add(1, new KeyValuePair<string, object?>("kind", "kem"));
        }

        var after = Counts();
        if (DroppedBelowThreshold(before.OneTimeCount, after.OneTimeCount) || DroppedBelowThreshold(before.KemOneTimeCount, after.KemOneTimeCount))
        {
            // Events are live: a device that is not connected learns its counts from GET /v1/keys.
            ClusterMetrics.PreKeysLow.Add(1);
            PushEvent(EventJson.KeysLow(after.OneTimeCount, after.KemOneTimeCount));
        }

        return new PreKeyBundle(signedPreKey, oneTime, kemOneTime ?? lastResort);
    }

    private void Apply(PreKeyUpload upload)
    {
        Keys.SignedPreKey = upload.SignedPreKey ?? Keys.SignedPreKey;
        Keys.KemLastResortKey = upload.KemLastResortKey ?? Keys.KemLastResortKey;
        if (upload.OneTimePreKeys is { } oneTime)
        {
            Keys.OneTimePreKeys = [.. oneTime];
        }

        if (upload.KemOneTimeKeys is { } kemOneTime)
        {
            Keys.KemOneTimeKeys = [.. kemOneTime];
        }
    }

    private PreKeyCounts Counts() => new(Keys.OneTimePreKeys.Count, Keys.KemOneTimeKeys.Count);

    private static T? TakeFirst<T>(List<T> list)
        where T : class
    {
        if (list.Count == 0)
        {
            return null;
        }

        var first = list[0];
        list.RemoveAt(0);
        return first;
    }

    private static bool DroppedBelowThreshold(int before, int after) => before >= KeysLowThreshold && after < KeysLowThreshold;
}
