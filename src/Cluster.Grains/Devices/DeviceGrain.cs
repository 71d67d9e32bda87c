using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Keys;
using Cluster.Grains.Observability;

namespace Cluster.Grains.Devices;

/// <summary>
/// Not reentrant: each bundle fetch runs alone and is persisted before it answers, which is what hands every one-time
/// key out at most once, ever, across concurrent fetches and restarts.
/// </summary>
internal sealed class DeviceGrain(
    [PersistentState("keys", GrainStorage.Name)] IPersistentState<DeviceKeysState> keys) : Grain, IDeviceGrain
{
    /// <summary>Below this many one-time keys of a kind the device is told to upload more (<c>keysLow</c>).</summary>
    public const int KeysLowThreshold = 10;

    private DeviceKeysState State => keys.State;

    public async Task InitializeKeysAsync(PreKeyUpload upload)
    {
        keys.State = new DeviceKeysState();
        Apply(upload);
        await keys.WriteStateAsync();
    }

    public async Task UploadKeysAsync(PreKeyUpload upload)
    {
        Apply(upload);
        await keys.WriteStateAsync();
    }

    public Task<PreKeyCounts> GetCountsAsync() => Task.FromResult(Counts());

    public async Task<PreKeyBundle?> TakeBundleAsync()
    {
        if (State.SignedPreKey is not { } signedPreKey || State.KemLastResortKey is not { } lastResort)
        {
            return null;
        }

        var before = Counts();
        var oneTime = TakeFirst(State.OneTimePreKeys);
        var kemOneTime = TakeFirst(State.KemOneTimeKeys);
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
            PublishKeysLow();
        }

        return new PreKeyBundle(signedPreKey, oneTime, kemOneTime ?? lastResort);
    }

    public async Task ClearKeysAsync()
    {
        await keys.ClearStateAsync();
        keys.State = new DeviceKeysState();
    }

    private void Apply(PreKeyUpload upload)
    {
        State.SignedPreKey = upload.SignedPreKey ?? State.SignedPreKey;
        State.KemLastResortKey = upload.KemLastResortKey ?? State.KemLastResortKey;
        if (upload.OneTimePreKeys is { } oneTime)
        {
            State.OneTimePreKeys = [.. oneTime];
        }

        if (upload.KemOneTimeKeys is { } kemOneTime)
        {
            State.KemOneTimeKeys = [.. kemOneTime];
        }
    }

    private PreKeyCounts Counts() => new(State.OneTimePreKeys.Count, State.KemOneTimeKeys.Count);

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

    /// <summary>
    /// The <c>keysLow</c> condition. Events are live: they reach a device only over its socket, and a device that is not
    /// connected learns its counts from <c>GET /v1/keys</c>. The socket attaches to this grain with the Messaging
    /// feature; until then no device is ever connected, so the event is only counted.
    /// </summary>
    private static void PublishKeysLow()
    {
        ClusterMetrics.PreKeysLow.Add(1);
    }
}
