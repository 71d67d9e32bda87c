using Cluster.Client.Keys;

namespace Cluster.Client.Accounts;

/// <summary>The body of <c>POST /v1/accounts</c>. <see cref="DeviceKeys.CreateRegistration"/> builds a valid one.</summary>
public sealed record RegistrationRequest
{
    /// <summary>The E.164 account id.</summary>
    public required string AccountId { get; init; }

    /// <summary>The primary device's password, 16 to 128 printable ASCII characters.</summary>
    public required string Password { get; init; }

    /// <summary>The device's registration id, 1 to 16380.</summary>
    public required int RegistrationId { get; init; }

    /// <summary>The code <see cref="ClusterClient.RequestVerificationCodeAsync"/> had sent to the number.</summary>
    public string? VerificationCode { get; init; }

    /// <summary>A name for the device, shown to the account's other devices.</summary>
    public string? Name { get; init; }

    /// <summary>The primary's identity key (33 bytes).</summary>
    public required byte[] IdentityKey { get; init; }

    /// <summary>The signed EC prekey.</summary>
    public required SignedPreKey SignedPreKey { get; init; }

    /// <summary>The last-resort KEM prekey.</summary>
    public required SignedPreKey KemLastResortKey { get; init; }

    /// <summary>One-time EC prekeys.</summary>
    public IReadOnlyList<PreKey>? OneTimePreKeys { get; init; }

    /// <summary>One-time KEM prekeys.</summary>
    public IReadOnlyList<SignedPreKey>? KemOneTimeKeys { get; init; }
}

/// <summary>The answer to a registration or a link: the new device's address.</summary>
/// <param name="AccountId">The account id.</param>
/// <param name="DeviceId">The device id (1 for a registration).</param>
public sealed record RegisteredDevice(string AccountId, int DeviceId);

/// <summary>One of the caller's own devices, from <c>GET /v1/devices</c>.</summary>
/// <param name="DeviceId">The device id.</param>
/// <param name="Name">The name the device gave itself.</param>
/// <param name="RegistrationId">Its registration id.</param>
/// <param name="LinkedAt">When it was registered or linked (Unix ms).</param>
/// <param name="LastSeenAt">When it last authenticated (Unix ms).</param>
public sealed record DeviceInfo(int DeviceId, string? Name, int RegistrationId, long LinkedAt, long LastSeenAt);

/// <summary>A link token from <c>POST /v1/devices/link-token</c>: single use, valid 10 minutes.</summary>
/// <param name="Token">The token, for <see cref="LinkRequest.Token"/>.</param>
/// <param name="ExpiresAt">When it expires (Unix ms).</param>
public sealed record LinkToken(string Token, long ExpiresAt);

/// <summary>The body of <c>PUT /v1/devices/link</c>. <see cref="DeviceKeys.CreateLinkRequest"/> builds a valid one.</summary>
public sealed record LinkRequest
{
    /// <summary>The account to join.</summary>
    public required string AccountId { get; init; }

    /// <summary>The primary's link token.</summary>
    public required string Token { get; init; }

    /// <summary>The new device's password.</summary>
    public required string Password { get; init; }

    /// <summary>The new device's registration id.</summary>
    public required int RegistrationId { get; init; }

    /// <summary>A name for the device.</summary>
    public string? Name { get; init; }

    /// <summary>The companion's identity key.</summary>
    public required byte[] IdentityKey { get; init; }

    /// <summary>The key index the primary gave this companion, greater than any the account used before.</summary>
    public required long KeyIndex { get; init; }

    /// <summary><c>linkingMetadata</c> bytes (account, key index, timestamp).</summary>
    public required byte[] LinkingMetadata { get; init; }

    /// <summary>The primary's signature over the metadata and the companion key.</summary>
    public required byte[] AccountSignature { get; init; }

    /// <summary>The companion's signature over the metadata and both keys.</summary>
    public required byte[] DeviceSignature { get; init; }

    /// <summary>The companion's signed EC prekey.</summary>
    public required SignedPreKey SignedPreKey { get; init; }

    /// <summary>The companion's last-resort KEM prekey.</summary>
    public required SignedPreKey KemLastResortKey { get; init; }

    /// <summary>One-time EC prekeys.</summary>
    public IReadOnlyList<PreKey>? OneTimePreKeys { get; init; }

    /// <summary>One-time KEM prekeys.</summary>
    public IReadOnlyList<SignedPreKey>? KemOneTimeKeys { get; init; }
}

/// <summary>A device list signed by the primary: <c>keyIndexList</c> bytes and the signature over them.</summary>
/// <param name="List">The <c>keyIndexList</c> bytes.</param>
/// <param name="Signature">The primary's signature over <c>0x06 0x02 || list</c>.</param>
public sealed record SignedDeviceList(byte[] List, byte[] Signature);

/// <summary><c>GET /v1/accounts/{accountId}/devices</c>: everything a sender needs to verify an account's devices.</summary>
/// <param name="AccountId">The account id.</param>
/// <param name="PrimaryIdentityKey">The primary's identity key.</param>
/// <param name="DeviceList">The last signed device list, or null before the primary published one.</param>
/// <param name="Devices">Every current device with its ADV signatures.</param>
public sealed record AccountDevices(string AccountId, byte[] PrimaryIdentityKey, SignedDeviceList? DeviceList, IReadOnlyList<DeviceIdentity> Devices);

/// <summary>One device of an account with the signatures that prove it belongs there (null for the primary).</summary>
/// <param name="DeviceId">The device id.</param>
/// <param name="RegistrationId">Its registration id.</param>
/// <param name="IdentityKey">Its identity key.</param>
/// <param name="KeyIndex">Its key index (0 for the primary).</param>
/// <param name="LinkingMetadata">The linking metadata it was linked with.</param>
/// <param name="AccountSignature">The primary's ADV signature.</param>
/// <param name="DeviceSignature">The companion's ADV signature.</param>
public sealed record DeviceIdentity(int DeviceId, int RegistrationId, byte[] IdentityKey, long KeyIndex, byte[]? LinkingMetadata, byte[]? AccountSignature, byte[]? DeviceSignature);

/// <summary><c>POST /v1/accounts/verification</c>: the number to send a code to.</summary>
public sealed record VerificationCodeRequest(string AccountId);

/// <summary>A code was sent; it expires at <see cref="ExpiresAt"/> (Unix ms).</summary>
public sealed record VerificationCodeSent(string AccountId, long ExpiresAt);
