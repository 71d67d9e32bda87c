using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Accounts;

/// <summary>
/// The registration lock (a PIN a re-registration must present) and its limits; section <c>Accounts</c>. The PIN is
/// stored as PBKDF2-HMAC-SHA256 with a random 16-byte salt; attempts are counted per number before any hashing.
/// </summary>
public sealed class RegistrationLockOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Accounts";

    /// <summary>
    /// How long the primary may stay away (no authenticated request, no socket opened) before its lock lapses, counted
    /// from the end of the UTC day it was last seen (last-seen is kept to the day). Default: 7 days (as Signal).
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan RegistrationLockLapse { get; set; } = TimeSpan.FromDays(7);

    /// <summary>PIN attempts a number allows per <see cref="RegistrationLockAttemptWindow"/>; every presented PIN counts until one is right. Default: 5.</summary>
    [Range(1, 1000)]
    public int RegistrationLockMaxAttempts { get; set; } = 5;

    /// <summary>The window <see cref="RegistrationLockMaxAttempts"/> counts over. Default: 1 day.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan RegistrationLockAttemptWindow { get; set; } = TimeSpan.FromDays(1);

    /// <summary>PBKDF2-HMAC-SHA256 iterations for a new PIN hash (a stored one keeps its own). Default: 600000 (OWASP 2023).</summary>
    [Range(1_000, 10_000_000)]
    public int RegistrationLockIterations { get; set; } = 600_000;

    /// <summary>
    /// PIN hashes a silo computes at once; the rest wait in a queue of <see cref="RegistrationLockHashQueueLimit"/>, past
    /// which the request is answered 503 <c>busy</c>. Default: 1 (a PIN hash is rare and slow).
    /// </summary>
    [Range(1, 64)]
    public int RegistrationLockConcurrentHashes { get; set; } = 1;

    /// <summary>PIN hashes that may wait for the gate. Default: 8.</summary>
    [Range(0, 10_000)]
    public int RegistrationLockHashQueueLimit { get; set; } = 8;
}
