namespace Cluster.Abstractions.Accounts;

/// <summary>A new link token; the account keeps only its hash.</summary>
/// <param name="Token">The token (base64url), or null when refused.</param>
/// <param name="ExpiresAt">When it stops being valid (Unix ms).</param>
[GenerateSerializer, Immutable, Alias("LinkToken")]
public sealed record LinkToken([property: Id(0)] string? Token, [property: Id(1)] long ExpiresAt);

/// <summary>A companion asking to be linked; formats and its prekey signatures already checked by the gateway.</summary>
[GenerateSerializer, Immutable, Alias("LinkDevice")]
public sealed record LinkDevice
{
    /// <summary>The link token the primary made.</summary>
    [Id(0)] public required string Token { get; init; }

    /// <summary>The account named inside <see cref="AddDevice.LinkingMetadata"/>.</summary>
    [Id(1)] public required string MetadataAccountId { get; init; }

    /// <summary>The key index named inside <see cref="AddDevice.LinkingMetadata"/>.</summary>
    [Id(2)] public required long MetadataKeyIndex { get; init; }

    /// <summary>The device to add.</summary>
    [Id(3)] public required AddDevice Device { get; init; }
}

/// <summary>The outcome of a link.</summary>
public enum LinkStatus
{
    /// <summary>The device exists now.</summary>
    Linked,

    /// <summary>The token is not a valid, unused, unexpired token of this account (403).</summary>
    BadToken,

    /// <summary>The account has the most devices it may have (411).</summary>
    TooManyDevices,

    /// <summary>The key index is not above every index the account used (409).</summary>
    StaleKeyIndex,

    /// <summary>The linking metadata names another account or key index (422).</summary>
    BadLinkingMetadata,

    /// <summary>The account signature does not verify under the primary's identity key (422).</summary>
    BadAccountSignature,

    /// <summary>The device signature does not verify under the companion's identity key (422).</summary>
    BadDeviceSignature,
}

/// <summary>The answer to a link.</summary>
[GenerateSerializer, Immutable, Alias("LinkResult")]
public sealed record LinkResult([property: Id(0)] LinkStatus Status, [property: Id(1)] int DeviceId);

/// <summary>The outcome of publishing a signed device list.</summary>
public enum DeviceListStatus
{
    /// <summary>Stored and announced.</summary>
    Published,

    /// <summary>The signature does not verify under the primary's identity key (422).</summary>
    BadSignature,

    /// <summary>The list names another account (422).</summary>
    WrongAccount,

    /// <summary>Its timestamp is not after the stored list's (409).</summary>
    Stale,

    /// <summary>Its valid indexes are not exactly the linked companions' key indexes (409).</summary>
    Mismatch,
}

/// <summary>A signed device list, stored verbatim.</summary>
[GenerateSerializer, Immutable, Alias("SignedDeviceList")]
public sealed record SignedDeviceList([property: Id(0)] byte[] List, [property: Id(1)] byte[] Signature);

/// <summary>A device as any sender sees it, with what it needs to verify the device itself.</summary>
[GenerateSerializer, Immutable, Alias("DeviceIdentity")]
public sealed record DeviceIdentity(
    [property: Id(0)] int DeviceId,
    [property: Id(1)] int RegistrationId,
    [property: Id(2)] byte[] IdentityKey,
    [property: Id(3)] long KeyIndex,
    [property: Id(4)] byte[]? LinkingMetadata,
    [property: Id(5)] byte[]? AccountSignature,
    [property: Id(6)] byte[]? DeviceSignature);

/// <summary><c>GET /v1/accounts/{accountId}/devices</c>, as the account grain answers it.</summary>
[GenerateSerializer, Immutable, Alias("AccountDevices")]
public sealed record AccountDevices(
    [property: Id(0)] bool Exists,
    [property: Id(1)] byte[] PrimaryIdentityKey,
    [property: Id(2)] SignedDeviceList? DeviceList,
    [property: Id(3)] IReadOnlyList<DeviceIdentity> Devices);

/// <summary>The outcome of removing a device.</summary>
public enum RemoveDeviceStatus
{
    /// <summary>Removed.</summary>
    Removed,

    /// <summary>No such device.</summary>
    NotFound,

    /// <summary>The primary cannot be removed (400).</summary>
    IsPrimary,
}
