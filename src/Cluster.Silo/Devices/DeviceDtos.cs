using Cluster.Silo.Keys;
namespace Cluster.Silo.Devices;

/// <summary><c>POST /v1/devices/link-token</c>.</summary>
public sealed record LinkTokenResponse(string Token, long ExpiresAt);

/// <summary><c>PUT /v1/devices/link</c>.</summary>
public sealed class LinkDeviceRequest
{
    public string? AccountId { get; set; }

    public string? Token { get; set; }

    public string? Password { get; set; }

    public int? RegistrationId { get; set; }

    public string? Name { get; set; }

    public byte[]? IdentityKey { get; set; }

    public long? KeyIndex { get; set; }

    public byte[]? LinkingMetadata { get; set; }

    public byte[]? AccountSignature { get; set; }

    public byte[]? DeviceSignature { get; set; }

    public SignedPreKeyDto? SignedPreKey { get; set; }

    public SignedPreKeyDto? KemLastResortKey { get; set; }

    public List<PreKeyDto?>? OneTimePreKeys { get; set; }

    public List<SignedPreKeyDto?>? KemOneTimeKeys { get; set; }
}

/// <summary>The answer to a link.</summary>
public sealed record LinkDeviceResponse(int DeviceId);

/// <summary><c>PUT /v1/devices/list</c>.</summary>
public sealed class DeviceListRequest
{
    public byte[]? List { get; set; }

    public byte[]? Signature { get; set; }
}

/// <summary>The signed device list as served.</summary>
public sealed record SignedDeviceListDto(byte[] List, byte[] Signature);

/// <summary>One device in <c>GET /v1/accounts/{accountId}/devices</c>.</summary>
public sealed record DeviceIdentityDto(
    int DeviceId, int RegistrationId, byte[] IdentityKey, long KeyIndex, byte[]? LinkingMetadata, byte[]? AccountSignature, byte[]? DeviceSignature);

/// <summary><c>GET /v1/accounts/{accountId}/devices</c>.</summary>
public sealed record AccountDevicesResponse(string AccountId, byte[] PrimaryIdentityKey, SignedDeviceListDto? DeviceList, IReadOnlyList<DeviceIdentityDto> Devices);
