using Cluster.Abstractions.Keys;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;

namespace Cluster.Grains.Devices;

/// <summary>
/// The prekeys (<see cref="DeviceKeysState"/>): every operation on them runs under <see cref="keysLock"/>, so that a
/// bundle fetch runs alone and is persisted before it answers.
/// A separate non-reentrant prekey grain would not be simpler: it would store the keys under another grain id (a data
/// migration for every existing device) and add a call per bundle fetch, for what is four short locked sections here.
/// </summary>
internal sealed partial class DeviceGrain
{
    /// <summary>Below this many one-time keys of a kind the device is told to upload more (<c>keysLow</c>).</summary>
    public const int KeysLowThreshold = 10;

    private readonly SemaphoreSlim keysLock = new(1, 1);

    private DeviceKeysState Keys => keys.State;

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
            if (inboxState.State.Removed)
            {
                // An upload that raced the device's removal: its keys were cleared and must stay so.
                return;
            }

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
