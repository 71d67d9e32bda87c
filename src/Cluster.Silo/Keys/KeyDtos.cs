namespace Cluster.Silo.Keys;

/// <summary><c>{keyId, publicKey, signature}</c>: a signed EC prekey or a KEM prekey.</summary>
public sealed class SignedPreKeyDto
{
    public long? KeyId { get; set; }

    public byte[]? PublicKey { get; set; }

    public byte[]? Signature { get; set; }
}

/// <summary><c>{keyId, publicKey}</c>: a one-time EC prekey.</summary>
public sealed class PreKeyDto
{
    public long? KeyId { get; set; }

    public byte[]? PublicKey { get; set; }
}

/// <summary><c>PUT /v1/keys</c>.</summary>
public sealed class KeysUploadRequest
{
    public SignedPreKeyDto? SignedPreKey { get; set; }

    public SignedPreKeyDto? KemLastResortKey { get; set; }

    public List<PreKeyDto?>? OneTimePreKeys { get; set; }

    public List<SignedPreKeyDto?>? KemOneTimeKeys { get; set; }
}

/// <summary><c>GET /v1/keys</c>.</summary>
public sealed record KeyCountsResponse(int OneTimeCount, int KemOneTimeCount);

/// <summary>One device of <c>GET /v1/keys/{accountId}/{deviceId}</c>.</summary>
public sealed record BundleDeviceResponse(
    int DeviceId,
    int RegistrationId,
    byte[] IdentityKey,
    SignedPreKeyDto SignedPreKey,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] PreKeyDto? OneTimePreKey,
    SignedPreKeyDto KemPreKey);

/// <summary><c>GET /v1/keys/{accountId}/{deviceId}</c>.</summary>
public sealed record BundleResponse(byte[] IdentityKey, IReadOnlyList<BundleDeviceResponse> Devices);
