namespace Cluster.LoadTest.Accounting;

/// <summary>
/// One device as the accounting knows it: the account's index in the run, the device id and its registration id. A
/// companion linked again after an unlink gets the same device id but another registration id, so it is another key.
/// </summary>
internal readonly record struct DeviceKey(int Account, int DeviceId, int RegistrationId);

internal enum CopyKind
{
    Direct,
    Sync,
}
