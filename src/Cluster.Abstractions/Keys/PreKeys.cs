namespace Cluster.Abstractions.Keys;

/// <summary>An unsigned one-time EC prekey.</summary>
/// <param name="KeyId">A uint24 key id chosen by the client.</param>
/// <param name="PublicKey">33 bytes: <c>0x05 || X25519 public key</c>.</param>
[GenerateSerializer, Immutable, Alias("PreKey")]
public sealed record PreKey([property: Id(0)] int KeyId, [property: Id(1)] byte[] PublicKey);

/// <summary>A signed prekey: an EC signed prekey, or a KEM (Kyber1024) prekey, signed by the device's identity key.</summary>
/// <param name="KeyId">A uint24 key id chosen by the client.</param>
/// <param name="PublicKey">The serialized public key (EC: 33 bytes, KEM: 1569 bytes).</param>
/// <param name="Signature">The 64-byte XEdDSA signature over <paramref name="PublicKey"/>.</param>
[GenerateSerializer, Immutable, Alias("SignedPreKey")]
public sealed record SignedPreKey([property: Id(0)] int KeyId, [property: Id(1)] byte[] PublicKey, [property: Id(2)] byte[] Signature);

/// <summary>
/// A set of prekeys to store for a device, already validated (formats and signatures) by the gateway.
/// A null member leaves the stored value unchanged; a list replaces the stored list of that kind.
/// </summary>
[GenerateSerializer, Immutable, Alias("PreKeyUpload")]
public sealed record PreKeyUpload
{
    /// <summary>The new signed EC prekey, or null to keep the current one.</summary>
    [Id(0)] public SignedPreKey? SignedPreKey { get; init; }

    /// <summary>The new last-resort KEM prekey, or null to keep the current one.</summary>
    [Id(1)] public SignedPreKey? KemLastResortKey { get; init; }

    /// <summary>One-time EC prekeys replacing the stored ones, or null to keep them.</summary>
    [Id(2)] public IReadOnlyList<PreKey>? OneTimePreKeys { get; init; }

    /// <summary>One-time KEM prekeys replacing the stored ones, or null to keep them.</summary>
    [Id(3)] public IReadOnlyList<SignedPreKey>? KemOneTimeKeys { get; init; }
}

/// <summary>How many one-time keys of each kind a device has left.</summary>
[GenerateSerializer, Immutable, Alias("PreKeyCounts")]
public sealed record PreKeyCounts([property: Id(0)] int OneTimeCount, [property: Id(1)] int KemOneTimeCount);

/// <summary>What one bundle fetch hands out for one device: each one-time key at most once, ever.</summary>
/// <param name="SignedPreKey">The current signed EC prekey.</param>
/// <param name="OneTimePreKey">A one-time EC prekey, or null when none is left.</param>
/// <param name="KemPreKey">A one-time KEM prekey, or the last-resort KEM key when none is left.</param>
[GenerateSerializer, Immutable, Alias("PreKeyBundle")]
public sealed record PreKeyBundle(
    [property: Id(0)] SignedPreKey SignedPreKey,
    [property: Id(1)] PreKey? OneTimePreKey,
    [property: Id(2)] SignedPreKey KemPreKey);
