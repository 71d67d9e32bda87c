namespace Cluster.Grains.Accounts;

[GenerateSerializer, Alias("AccountState")]
internal sealed class AccountState
{
    [Id(0)] public bool Exists { get; set; }

    [Id(1)] public byte[] IdentityKey { get; set; } = [];

    [Id(2)] public SortedDictionary<int, DeviceRecord> Devices { get; set; } = [];

    [Id(3)] public long CreatedAt { get; set; }

    /// <summary>The highest key index the account ever gave a companion (0: none yet).</summary>
    [Id(4)] public long MaxKeyIndex { get; set; }

    /// <summary>Grows by one with every change of the devices (link, unlink, new signed list).</summary>
    [Id(5)] public long DeviceListVersion { get; set; }

    /// <summary>The signed device list, verbatim, or null before the primary published one.</summary>
    [Id(6)] public byte[]? DeviceList { get; set; }

    [Id(7)] public byte[]? DeviceListSignature { get; set; }

    [Id(8)] public long DeviceListTimestamp { get; set; }

    /// <summary>Outstanding link tokens: SHA-256 of the token and when it expires.</summary>
    [Id(9)] public List<LinkTokenRecord> LinkTokens { get; set; } = [];

    /// <summary>Accounts interested in this one (fetched its devices or keys, or messaged it), and when they last were.</summary>
    [Id(10)] public Dictionary<string, long> InterestedAccounts { get; set; } = [];

    /// <summary>
    /// Set while a deletion is under way (credentials already gone, <see cref="Exists"/> false): the device ids and the
    /// accounts to tell, so that the deletion reminder can finish what an interrupted deletion began. Null otherwise.
    /// </summary>
    [Id(11)] public PendingDeletion? Deletion { get; set; }
    /// <summary>The registration lock the primary set, or null (none; a re-registration clears it).</summary>
    [Id(20)] public RegistrationLockRecord? RegistrationLock { get; set; }
}

/// <summary>What an unfinished deletion still has to remove and tell (see <see cref="AccountState.Deletion"/>).</summary>
[GenerateSerializer, Alias("PendingDeletion")]
internal sealed record PendingDeletion([property: Id(0)] int[] DeviceIds, [property: Id(1)] string[] Interested, [property: Id(2)] long Version);

[GenerateSerializer, Alias("LinkTokenRecord")]
internal sealed record LinkTokenRecord([property: Id(0)] byte[] Hash, [property: Id(1)] long ExpiresAt);

[GenerateSerializer, Alias("DeviceRecord")]
internal sealed class DeviceRecord
{
    [Id(0)] public int DeviceId { get; set; }

    [Id(1)] public int RegistrationId { get; set; }

    [Id(2)] public string? Name { get; set; }

    [Id(3)] public byte[] IdentityKey { get; set; } = [];

    [Id(4)] public string PasswordHash { get; set; } = "";

    [Id(5)] public long LinkedAt { get; set; }

    /// <summary>Unix ms, kept to the day: writing state on every request would cost a write per request.</summary>
    [Id(6)] public long LastSeenAt { get; set; }

    [Id(7)] public long KeyIndex { get; set; }

    [Id(8)] public byte[]? LinkingMetadata { get; set; }

    [Id(9)] public byte[]? AccountSignature { get; set; }

    [Id(10)] public byte[]? DeviceSignature { get; set; }

    /// <summary>A fresh value each time a device gets this id (empty for devices stored before it existed): see <c>DeviceCredential.Incarnation</c>.</summary>
    [Id(11)] public Guid Incarnation { get; set; }

    /// <summary>The primary's <see cref="LastSeenAt"/> this companion was last warned for (<c>companionsExpiring</c>), so it is warned once per absence.</summary>
    [Id(12)] public long ExpiryWarnedFor { get; set; }
}
