using Cluster.Abstractions.Keys;

namespace Cluster.Abstractions.Accounts;

/// <summary>A new account with its primary device; every field already validated by the gateway.</summary>
[GenerateSerializer, Immutable, Alias("RegisterAccount")]
public sealed record RegisterAccount
{
    /// <summary>The primary's password hash (never the password itself).</summary>
    [Id(0)] public required string PasswordHash { get; init; }

    /// <summary>The primary's Signal registration id, 1..16380.</summary>
    [Id(1)] public required int RegistrationId { get; init; }

    /// <summary>The primary's display name, or null.</summary>
    [Id(2)] public string? Name { get; init; }

    /// <summary>The primary's identity key (33 bytes), which is also the account's identity key.</summary>
    [Id(3)] public required byte[] IdentityKey { get; init; }

    /// <summary>The primary's initial prekeys.</summary>
    [Id(4)] public required PreKeyUpload Keys { get; init; }
}

/// <summary>What the gateway needs to authenticate a device and check its signatures.</summary>
/// <param name="PasswordHash">The stored salted hash of the device's password.</param>
/// <param name="IdentityKey">The device's identity key.</param>
/// <param name="AccountDeviceCount">How many devices the account has now.</param>
/// <param name="Incarnation">
/// Which device holds the id: a fresh value each time the id is given to a device (empty for devices made before
/// incarnations were recorded). A socket carries it, so that a removed device's socket cannot attach to the device linked
/// under its id later.
/// </param>
[GenerateSerializer, Immutable, Alias("DeviceCredential")]
public sealed record DeviceCredential(
    [property: Id(0)] string PasswordHash,
    [property: Id(1)] byte[] IdentityKey,
    [property: Id(2)] int AccountDeviceCount,
    [property: Id(3)] Guid Incarnation = default);

/// <summary>An account's current devices and their registration ids, as a sender must cover them.</summary>
/// <param name="Exists">Whether the account exists.</param>
/// <param name="DeviceIds">Device ids, ascending.</param>
/// <param name="RegistrationIds">The registration id of each device, in the same order.</param>
[GenerateSerializer, Immutable, Alias("DeviceSet")]
public sealed record DeviceSet(
    [property: Id(0)] bool Exists,
    [property: Id(1)] int[] DeviceIds,
    [property: Id(2)] int[] RegistrationIds)
{
    /// <summary>The set of an account that does not exist.</summary>
    public static DeviceSet None { get; } = new(false, [], []);
}

/// <summary>A device as its own account sees it in <c>GET /v1/devices</c>.</summary>
[GenerateSerializer, Immutable, Alias("DeviceSummary")]
public sealed record DeviceSummary(
    [property: Id(0)] int DeviceId,
    [property: Id(1)] string? Name,
    [property: Id(2)] int RegistrationId,
    [property: Id(3)] long LinkedAt,
    [property: Id(4)] long LastSeenAt);

/// <summary>A device as a sender needs it to fetch its prekeys.</summary>
[GenerateSerializer, Immutable, Alias("KeyTarget")]
public sealed record KeyTarget([property: Id(0)] int DeviceId, [property: Id(1)] int RegistrationId, [property: Id(2)] byte[] IdentityKey);

/// <summary>The answer to a prekey fetch request at the account: the devices to fetch from, or why not.</summary>
[GenerateSerializer, Immutable, Alias("KeyTargets")]
public sealed record KeyTargets
{
    /// <summary>The outcome.</summary>
    [Id(0)] public required KeyTargetsStatus Status { get; init; }

    /// <summary>The account's (primary) identity key, when found.</summary>
    [Id(1)] public byte[]? IdentityKey { get; init; }

    /// <summary>The devices to fetch, when found.</summary>
    [Id(2)] public IReadOnlyList<KeyTarget> Devices { get; init; } = [];

    /// <summary>When rate limited: how long until the next fetch is allowed.</summary>
    [Id(3)] public TimeSpan RetryAfter { get; init; }
}

/// <summary>The outcome of <see cref="IAccountGrain.GetKeyTargetsAsync"/>.</summary>
public enum KeyTargetsStatus
{
    /// <summary>The devices are listed.</summary>
    Found,

    /// <summary>No such account, or no such device.</summary>
    NotFound,

    /// <summary>The requester fetched this account's keys too often.</summary>
    RateLimited,
}

/// <summary>A companion device to add to an account; every field already validated (and signatures verified).</summary>
[GenerateSerializer, Immutable, Alias("AddDevice")]
public sealed record AddDevice
{
    /// <summary>The device's password hash.</summary>
    [Id(0)] public required string PasswordHash { get; init; }

    /// <summary>The device's Signal registration id, 1..16380.</summary>
    [Id(1)] public required int RegistrationId { get; init; }

    /// <summary>The device's display name, or null.</summary>
    [Id(2)] public string? Name { get; init; }

    /// <summary>The device's own identity key.</summary>
    [Id(3)] public required byte[] IdentityKey { get; init; }

    /// <summary>The key index the primary gave this companion (must exceed every index the account used).</summary>
    [Id(4)] public required long KeyIndex { get; init; }

    /// <summary>The signed linking metadata, verbatim.</summary>
    [Id(5)] public byte[]? LinkingMetadata { get; init; }

    /// <summary>The primary's signature over the linking metadata and the companion's key.</summary>
    [Id(6)] public byte[]? AccountSignature { get; init; }

    /// <summary>The companion's signature over the linking metadata and both keys.</summary>
    [Id(7)] public byte[]? DeviceSignature { get; init; }

    /// <summary>The device's initial prekeys.</summary>
    [Id(8)] public required Keys.PreKeyUpload Keys { get; init; }
}

/// <summary>The outcome of adding a device.</summary>
public enum AddDeviceStatus
{
    /// <summary>The device exists now.</summary>
    Added,

    /// <summary>No such account.</summary>
    NoAccount,

    /// <summary>The account has the most devices it may have (411).</summary>
    TooManyDevices,

    /// <summary>The key index is not above every index the account used (409).</summary>
    StaleKeyIndex,
}

/// <summary>The answer to <see cref="IAccountGrain.AddDeviceAsync"/>.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="DeviceId">The new device's id when added.</param>
[GenerateSerializer, Immutable, Alias("AddDeviceResult")]
public sealed record AddDeviceResult([property: Id(0)] AddDeviceStatus Status, [property: Id(1)] int DeviceId);
