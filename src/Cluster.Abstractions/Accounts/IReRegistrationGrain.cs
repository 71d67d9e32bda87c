using Orleans.Concurrency;

namespace Cluster.Abstractions.Accounts;

/// <summary>
/// The account grain's re-registration and registration-lock calls (key: the E.164 number; the same activation as
/// <see cref="IAccountGrain"/>, so they are serialized with every other change of the account). A re-registration
/// replaces the primary and unlinks every companion in one step; the registration lock is a PIN hash the grain keeps
/// and compares, the PIN itself never reaches it.
/// </summary>
[Alias("IReRegistrationGrain")]
public interface IReRegistrationGrain : IGrainWithStringKey
{
    /// <summary>
    /// The first step of a re-registration: whether the account's registration lock is in force and, when a PIN is
    /// presented, whether an attempt is allowed (it is counted now, before anyone hashes the PIN) and with which salt.
    /// </summary>
    [Alias("ChallengeRegistrationLock")]
    Task<RegistrationLockChallenge> ChallengeRegistrationLockAsync(bool pinPresented);

    /// <summary>
    /// Replaces the primary with a new device 1 (new identity key, password, registration id and keys): every companion
    /// and the old primary lose their credentials at once, their sockets are closed with 4401 and their queues purged,
    /// the signed device list is void, and interested accounts are told (<c>identityChanged</c>). Refused while the
    /// registration lock is in force unless <paramref name="pinHash"/> (the PIN derived with the challenge's salt) matches.
    /// </summary>
    [Alias("ReRegister")]
    Task<ReRegistrationResult> ReRegisterAsync(RegisterAccount request, byte[]? pinHash);

    /// <summary>Sets (or replaces) the registration lock; false when the account does not exist.</summary>
    [Alias("SetRegistrationLock")]
    Task<bool> SetRegistrationLockAsync(RegistrationLockHash pin);

    /// <summary>Removes the registration lock (also when there is none).</summary>
    [Alias("RemoveRegistrationLock")]
    Task RemoveRegistrationLockAsync();

    /// <summary>Tells every device of this account that <paramref name="accountId"/> moved to a new primary (a new identity key).</summary>
    [Alias("NotifyIdentityChanged"), OneWay]
    Task NotifyIdentityChangedAsync(string accountId, long version);
}

/// <summary>A registration-lock PIN as stored: PBKDF2-HMAC-SHA256 of the PIN with <see cref="Salt"/> and <see cref="Iterations"/>.</summary>
[GenerateSerializer, Immutable, Alias("RegistrationLockHash")]
public sealed record RegistrationLockHash(
    [property: Id(0)] byte[] Salt,
    [property: Id(1)] int Iterations,
    [property: Id(2)] byte[] Hash);

/// <summary>What the first step of a re-registration found.</summary>
public enum RegistrationLockStatus
{
    /// <summary>No lock in force (none set, or it lapsed): re-register without a PIN.</summary>
    Unlocked,

    /// <summary>A lock is in force and no PIN was presented (423).</summary>
    PinRequired,

    /// <summary>A lock is in force: hash the presented PIN with the salt and iterations given; the attempt is counted.</summary>
    Attempt,

    /// <summary>Too many PIN attempts for the number lately (429); nothing is hashed.</summary>
    Throttled,
}

/// <summary>The answer to <see cref="IReRegistrationGrain.ChallengeRegistrationLockAsync"/>.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="LapsesAt">When the lock lapses if the primary stays away (Unix ms); 0 when unlocked.</param>
/// <param name="RetryAfterMs">When throttled: how long until the next attempt is allowed.</param>
/// <param name="Salt">For an attempt: the salt to derive the PIN with.</param>
/// <param name="Iterations">For an attempt: the PBKDF2 iterations to derive the PIN with.</param>
[GenerateSerializer, Immutable, Alias("RegistrationLockChallenge")]
public sealed record RegistrationLockChallenge(
    [property: Id(0)] RegistrationLockStatus Status,
    [property: Id(1)] long LapsesAt = 0,
    [property: Id(2)] long RetryAfterMs = 0,
    [property: Id(3)] byte[]? Salt = null,
    [property: Id(4)] int Iterations = 0);

/// <summary>The outcome of a re-registration.</summary>
public enum ReRegistrationStatus
{
    /// <summary>The new primary replaced the old one.</summary>
    Replaced,

    /// <summary>The lock is in force and the PIN was missing or wrong (423).</summary>
    Locked,

    /// <summary>The account does not exist (any more): register it as new.</summary>
    NoAccount,
}

/// <summary>The answer to <see cref="IReRegistrationGrain.ReRegisterAsync"/>.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="LapsesAt">When locked: when the lock lapses if the primary stays away (Unix ms).</param>
/// <param name="CompanionsUnlinked">When replaced: how many companions were unlinked.</param>
[GenerateSerializer, Immutable, Alias("ReRegistrationResult")]
public sealed record ReRegistrationResult(
    [property: Id(0)] ReRegistrationStatus Status,
    [property: Id(1)] long LapsesAt = 0,
    [property: Id(2)] int CompanionsUnlinked = 0);
