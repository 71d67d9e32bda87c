namespace Cluster.Client.Keys;

/// <summary>A signed prekey (EC) or a KEM prekey: <c>{keyId, publicKey, signature}</c>, signed by the device's identity key.</summary>
/// <param name="KeyId">The key id, a uint24.</param>
/// <param name="PublicKey">The serialized public key: 33 bytes EC (<c>0x05 ||</c> X25519) or 1569 bytes KEM (<c>0x08 ||</c> Kyber1024).</param>
/// <param name="Signature">The 64-byte XEdDSA signature over <paramref name="PublicKey"/>.</param>
public sealed record SignedPreKey(int KeyId, byte[] PublicKey, byte[] Signature);

/// <summary>A one-time EC prekey: <c>{keyId, publicKey}</c>.</summary>
/// <param name="KeyId">The key id, a uint24.</param>
/// <param name="PublicKey">The serialized EC public key (33 bytes).</param>
public sealed record PreKey(int KeyId, byte[] PublicKey);

/// <summary>The body of <c>PUT /v1/keys</c>: any of a device's prekeys, at most 100 of each list per call.</summary>
public sealed record PreKeyUpload
{
    /// <summary>A new signed EC prekey, replacing the current one.</summary>
    public SignedPreKey? SignedPreKey { get; init; }

    /// <summary>A new last-resort KEM prekey, replacing the current one.</summary>
    public SignedPreKey? KemLastResortKey { get; init; }

    /// <summary>One-time EC prekeys to add.</summary>
    public IReadOnlyList<PreKey>? OneTimePreKeys { get; init; }

    /// <summary>One-time KEM prekeys to add.</summary>
    public IReadOnlyList<SignedPreKey>? KemOneTimeKeys { get; init; }
}

/// <summary><c>GET /v1/keys</c>: how many one-time keys the server still holds for the device.</summary>
/// <param name="OneTimeCount">One-time EC prekeys left.</param>
/// <param name="KemOneTimeCount">One-time KEM prekeys left.</param>
public sealed record KeyCounts(int OneTimeCount, int KemOneTimeCount);

/// <summary><c>GET /v1/keys/{accountId}/{deviceId}</c>: what a sender needs to start a session with each device.</summary>
/// <param name="IdentityKey">The account's (primary's) identity key.</param>
/// <param name="Devices">One bundle per device asked for.</param>
public sealed record PreKeyBundle(byte[] IdentityKey, IReadOnlyList<DevicePreKeys> Devices);

/// <summary>One device's prekey bundle. The one-time key, when present, was handed out to this fetch alone.</summary>
/// <param name="DeviceId">The device id.</param>
/// <param name="RegistrationId">The device's registration id (sends must name it).</param>
/// <param name="IdentityKey">The device's own identity key.</param>
/// <param name="SignedPreKey">The device's signed EC prekey.</param>
/// <param name="OneTimePreKey">A one-time EC prekey, or null when the device has none left.</param>
/// <param name="KemPreKey">A one-time KEM prekey, or the last-resort one when none is left.</param>
public sealed record DevicePreKeys(int DeviceId, int RegistrationId, byte[] IdentityKey, SignedPreKey SignedPreKey, PreKey? OneTimePreKey, SignedPreKey KemPreKey);
