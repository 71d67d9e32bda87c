// The wire shapes of /v1/accounts/verification; no logic. Changing one changes the protocol (docs/protocol.md).

namespace Cluster.Silo.Verification;

/// <summary><c>POST /v1/accounts/verification</c>: send a code to this number.</summary>
public sealed class VerificationCodeRequest
{
    public string? AccountId { get; set; }
}

/// <summary>The answer: when the code sent expires (Unix ms).</summary>
public sealed record VerificationCodeResponse(string AccountId, long ExpiresAt);
