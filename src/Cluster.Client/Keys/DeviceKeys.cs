using System.Security.Cryptography;
using Cluster.Client.Accounts;
using Cluster.Signal;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Cluster.Client.Keys;

/// <summary>
/// A device's identity key and registration id, and the Signal-format public key material it uploads, signed with
/// XEdDSA as libsignal's <c>PrivateKey.sign</c> does. The SDK is a transport: it generates prekeys to upload but keeps
/// only the identity key pair. A client that runs Signal sessions keeps its prekeys' private halves in libsignal's
/// own stores and uploads them with the plain records (<see cref="SignedPreKey"/>, <see cref="PreKey"/>).
/// </summary>
public sealed class DeviceKeys
{
    private static readonly SecureRandom Random = new();

    /// <summary>Keys for a device with the given identity.</summary>
    public DeviceKeys(ECKeyPair identity, int registrationId)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentOutOfRangeException.ThrowIfLessThan(registrationId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(registrationId, 16380);
        Identity = identity;
        RegistrationId = registrationId;
    }

    /// <summary>The device's identity key pair.</summary>
    public ECKeyPair Identity { get; }

    /// <summary>The device's registration id (1..16380).</summary>
    public int RegistrationId { get; }

    /// <summary>The serialized identity public key (33 bytes).</summary>
    public byte[] IdentityKey => Identity.PublicKey.ToArray();

    /// <summary>A fresh identity and a random registration id.</summary>
    public static DeviceKeys Generate() => new(ECKeyPair.Generate(), RandomNumberGenerator.GetInt32(1, 16381));

    /// <summary>A fresh random password of the protocol's allowed shape (24 base64 characters).</summary>
    public static string NewPassword() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    /// <summary>A new signed EC prekey.</summary>
    public SignedPreKey NewSignedPreKey(int keyId)
    {
        var publicKey = ECKeyPair.Generate().PublicKey.ToArray();
        return new SignedPreKey(keyId, publicKey, Identity.Sign(publicKey));
    }

    /// <summary>A new signed KEM prekey: a fresh Kyber1024 (ML-KEM-1024) public key in libsignal's serialization (<c>0x08 ||</c> 1568 bytes).</summary>
    public SignedPreKey NewKemPreKey(int keyId)
    {
        var generator = new MLKemKeyPairGenerator();
        generator.Init(new MLKemKeyGenerationParameters(Random, MLKemParameters.ml_kem_1024));
        var encoded = ((MLKemPublicKeyParameters)generator.GenerateKeyPair().Public).GetEncoded();
        var publicKey = new byte[KeyFormat.KemPublicKeyLength];
        publicKey[0] = KeyFormat.KemPublicKeyType;
        encoded.CopyTo(publicKey, 1);
        return new SignedPreKey(keyId, publicKey, Identity.Sign(publicKey));
    }

    /// <summary><paramref name="count"/> new one-time EC prekeys with ids from <paramref name="firstKeyId"/>.</summary>
    public static IReadOnlyList<PreKey> NewOneTimePreKeys(int firstKeyId, int count) =>
        [.. Enumerable.Range(firstKeyId, count).Select(id => new PreKey(id, ECKeyPair.Generate().PublicKey.ToArray()))];

    /// <summary><paramref name="count"/> new signed one-time KEM prekeys with ids from <paramref name="firstKeyId"/>.</summary>
    public IReadOnlyList<SignedPreKey> NewKemOneTimeKeys(int firstKeyId, int count) =>
        [.. Enumerable.Range(firstKeyId, count).Select(NewKemPreKey)];

    /// <summary>A registration of this device as the primary of <paramref name="accountId"/>.</summary>
    public RegistrationRequest CreateRegistration(string accountId, string password, string? name = null, int oneTimePreKeys = 0, int kemOneTimeKeys = 0) => new()
    {
        AccountId = accountId,
        Password = password,
        RegistrationId = RegistrationId,
        Name = name,
        IdentityKey = IdentityKey,
        SignedPreKey = NewSignedPreKey(1),
        KemLastResortKey = NewKemPreKey(1),
        OneTimePreKeys = oneTimePreKeys > 0 ? NewOneTimePreKeys(100, oneTimePreKeys) : null,
        KemOneTimeKeys = kemOneTimeKeys > 0 ? NewKemOneTimeKeys(100, kemOneTimeKeys) : null,
    };

    /// <summary>
    /// The primary's half of linking a companion (Automatic Device Verification): the linking metadata for
    /// <paramref name="keyIndex"/> and the primary's <c>accountSignature</c> over it and the companion's identity key.
    /// The primary sends both to the companion in its provisioning body.
    /// </summary>
    public LinkGrant GrantLink(string accountId, uint keyIndex, ReadOnlySpan<byte> companionIdentityKey, long timestampMs)
    {
        var metadata = new LinkingMetadata(accountId, keyIndex, timestampMs).ToBytes();
        return new LinkGrant(accountId, keyIndex, metadata, Identity.Sign(AdvSignatures.AccountMessage(metadata, companionIdentityKey)), IdentityKey);
    }

    /// <summary>The companion's link request, from the primary's grant and a link token: adds its own <c>deviceSignature</c> and prekeys.</summary>
    public LinkRequest CreateLinkRequest(LinkGrant grant, string token, string password, string? name = null, int oneTimePreKeys = 0, int kemOneTimeKeys = 0)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var deviceSignature = Identity.Sign(AdvSignatures.DeviceMessage(grant.LinkingMetadata, IdentityKey, grant.PrimaryIdentityKey));
        return new LinkRequest
        {
            AccountId = grant.AccountId,
            Token = token,
            Password = password,
            RegistrationId = RegistrationId,
            Name = name,
            IdentityKey = IdentityKey,
            KeyIndex = grant.KeyIndex,
            LinkingMetadata = grant.LinkingMetadata,
            AccountSignature = grant.AccountSignature,
            DeviceSignature = deviceSignature,
            SignedPreKey = NewSignedPreKey(1),
            KemLastResortKey = NewKemPreKey(1),
            OneTimePreKeys = oneTimePreKeys > 0 ? NewOneTimePreKeys(100, oneTimePreKeys) : null,
            KemOneTimeKeys = kemOneTimeKeys > 0 ? NewKemOneTimeKeys(100, kemOneTimeKeys) : null,
        };
    }

    /// <summary>The primary's signed device list naming the companions' key indexes.</summary>
    public SignedDeviceList SignDeviceList(string accountId, long timestampMs, IEnumerable<uint> validIndexes)
    {
        var indexes = validIndexes.Order().ToList();
        var list = new KeyIndexList(accountId, timestampMs, indexes.Count == 0 ? 0 : indexes[^1], indexes).ToBytes();
        return new SignedDeviceList(list, Identity.Sign(AdvSignatures.DeviceListMessage(list)));
    }
}

/// <summary>What the primary gives a companion to link with: the linking metadata and the primary's signature over it.</summary>
/// <param name="AccountId">The account.</param>
/// <param name="KeyIndex">The companion's key index.</param>
/// <param name="LinkingMetadata">The <c>linkingMetadata</c> bytes.</param>
/// <param name="AccountSignature">The primary's <c>accountSignature</c>.</param>
/// <param name="PrimaryIdentityKey">The primary's identity key (the companion signs over it).</param>
public sealed record LinkGrant(string AccountId, uint KeyIndex, byte[] LinkingMetadata, byte[] AccountSignature, byte[] PrimaryIdentityKey);
