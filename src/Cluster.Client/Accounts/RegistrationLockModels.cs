using System.Net;

namespace Cluster.Client.Accounts;

/// <summary>The body of <c>PUT /v1/account/registration-lock</c>.</summary>
/// <param name="Pin">The PIN, 4 to 64 characters.</param>
internal sealed record RegistrationLockBody(string Pin);

/// <summary>
/// 423 <c>registration_locked</c> on a re-registration: the number has a registration lock and the PIN
/// (<see cref="RegistrationRequest.RegistrationLock"/>) was missing or wrong. The verification code stays good (until its
/// own expiry): register again with the same code and the PIN, or wait <see cref="TimeRemaining"/> for the lock to lapse.
/// </summary>
public sealed class RegistrationLockedException(string message, TimeSpan timeRemaining, long lapsesAt)
    : ClusterApiException((HttpStatusCode)423, "registration_locked", message)
{
    /// <summary>How long until the lock lapses, if the old primary stays away.</summary>
    public TimeSpan TimeRemaining { get; } = timeRemaining;

    /// <summary>When the lock lapses, if the old primary stays away (Unix ms).</summary>
    public long LapsesAt { get; } = lapsesAt;
}
