using Cluster.Abstractions.Keys;

namespace Cluster.Abstractions.Devices;

/// <summary>One device (key: <c>accountId.deviceId</c>): its prekeys, and later its inbox and live connection.</summary>
[Alias("IDeviceGrain")]
public interface IDeviceGrain : IGrainWithStringKey
{
    /// <summary>Replaces every key of the device: used when the device is created.</summary>
    [Alias("InitializeKeys")]
    Task InitializeKeysAsync(PreKeyUpload keys);

    /// <summary>Stores an upload of keys (see <see cref="PreKeyUpload"/> for what replaces what).</summary>
    [Alias("UploadKeys")]
    Task UploadKeysAsync(PreKeyUpload keys);

    /// <summary>How many one-time keys are left.</summary>
    [Alias("GetCounts")]
    Task<PreKeyCounts> GetCountsAsync();

    /// <summary>Hands out a bundle, consuming one one-time key of each kind when there is one. Null when the device has no keys.</summary>
    [Alias("TakeBundle")]
    Task<PreKeyBundle?> TakeBundleAsync();

    /// <summary>Forgets every key (the device was removed).</summary>
    [Alias("ClearKeys")]
    Task ClearKeysAsync();
}
