namespace Cluster.Grains.Accounts;

/// <summary>An account's registration lock as stored in <see cref="AccountState.RegistrationLock"/>: never the PIN.</summary>
[GenerateSerializer, Alias("RegistrationLockRecord")]
internal sealed class RegistrationLockRecord
{
    /// <summary>The random salt the PIN was derived with.</summary>
    [Id(0)] public byte[] Salt { get; set; } = [];

    /// <summary>The PBKDF2 iterations the PIN was derived with.</summary>
    [Id(1)] public int Iterations { get; set; }

    /// <summary>PBKDF2-HMAC-SHA256 of the PIN.</summary>
    [Id(2)] public byte[] Hash { get; set; } = [];

    /// <summary>When the lock was set (Unix ms).</summary>
    [Id(3)] public long SetAt { get; set; }

    /// <summary>When each PIN attempt in the current window was made (Unix ms), oldest first; at most the attempt limit.</summary>
    [Id(4)] public List<long> Attempts { get; set; } = [];
}
