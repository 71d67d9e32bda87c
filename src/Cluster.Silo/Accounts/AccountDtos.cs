using Cluster.Silo.Keys;

// The wire shapes of /v1/accounts and /v1/devices; no logic. Changing one changes the protocol (docs/protocol.md).

namespace Cluster.Silo.Accounts;

/// <summary><c>POST /v1/accounts</c>.</summary>
public sealed class RegisterAccountRequest
{
    public string? AccountId { get; set; }

    public string? Password { get; set; }

    /// <summary>The code sent by <c>POST /v1/accounts/verification</c>.</summary>
    public string? VerificationCode { get; set; }

    public int? RegistrationId { get; set; }

    public string? Name { get; set; }

    public byte[]? IdentityKey { get; set; }

    public SignedPreKeyDto? SignedPreKey { get; set; }

    public SignedPreKeyDto? KemLastResortKey { get; set; }

    public List<PreKeyDto?>? OneTimePreKeys { get; set; }

    public List<SignedPreKeyDto?>? KemOneTimeKeys { get; set; }
}

/// <summary>The answer to a registration.</summary>
public sealed record RegisterAccountResponse(string AccountId, int DeviceId);

/// <summary>One device in <c>GET /v1/devices</c>.</summary>
public sealed record DeviceInfoResponse(int DeviceId, string? Name, int RegistrationId, long LinkedAt, long LastSeenAt);

/// <summary><c>GET /v1/devices</c>.</summary>
public sealed record DeviceListResponse(IReadOnlyList<DeviceInfoResponse> Devices);
