// The wire shapes of re-registration and the registration lock; no logic. Changing one changes the protocol (docs/protocol.md).

namespace Cluster.Silo.Accounts;

/// <summary><c>PUT /v1/account/registration-lock</c>.</summary>
public sealed class RegistrationLockRequest
{
    /// <summary>The PIN, 4 to 64 characters.</summary>
    public string? Pin { get; set; }
}

/// <summary>
/// 423 <c>registration_locked</c>: a re-registration of a locked number without the right PIN. <c>TimeRemaining</c>
/// (ms) is how long until the lock lapses if the primary stays away; <c>LapsesAt</c> is that instant (Unix ms).
/// </summary>
public sealed record RegistrationLockedError(string Error, string Message, long TimeRemaining, long LapsesAt);
