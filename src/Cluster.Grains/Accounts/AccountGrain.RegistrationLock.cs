using System.Security.Cryptography;
using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Grains.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cluster.Grains.Accounts;

/// <summary>
/// The registration lock: a PIN hash the primary sets (<c>State.RegistrationLock</c>; the silo derives it, the grain
/// never sees a PIN) that a re-registration must match while the lock is in force. It lapses, without any timer, once
/// the primary has been away <see cref="RegistrationLockOptions.RegistrationLockLapse"/> (from the end of its last-seen
/// day); the primary coming back puts it in force again. PIN attempts are counted per number in the lock's record
/// (<see cref="RegistrationLockOptions.RegistrationLockMaxAttempts"/> per window) when they are announced, before the
/// silo hashes anything, so a guesser costs no CPU past the limit.
/// </summary>
internal sealed partial class AccountGrain
{
    /// <summary>The options, resolved once (kept out of the constructor so that this concern stays in its own file).</summary>
    private RegistrationLockOptions LockOptions => lockOptions ??= ServiceProvider.GetRequiredService<IOptions<RegistrationLockOptions>>().Value;

    // Set by LockOptions on first use, never changed after.
    private RegistrationLockOptions? lockOptions;

    public async Task<RegistrationLockChallenge> ChallengeRegistrationLockAsync(bool pinPresented)
    {
        if (!LockInForce(out var record, out var lapsesAt))
        {
            ClusterMetrics.RegistrationLockChecks.Add(1, new KeyValuePair<string, object?>("outcome", "unlocked"));
            return new RegistrationLockChallenge(RegistrationLockStatus.Unlocked);
        }

        if (!pinPresented)
        {
            ClusterMetrics.RegistrationLockChecks.Add(1, new KeyValuePair<string, object?>("outcome", "pin_required"));
            return new RegistrationLockChallenge(RegistrationLockStatus.PinRequired, lapsesAt);
        }

        var now = Now;
        var window = (long)LockOptions.RegistrationLockAttemptWindow.TotalMilliseconds;
        record.Attempts.RemoveAll(at => at <= now - window);
        if (record.Attempts.Count >= LockOptions.RegistrationLockMaxAttempts)
        {
            ClusterMetrics.RegistrationLockChecks.Add(1, new KeyValuePair<string, object?>("outcome", "throttled"));
            return new RegistrationLockChallenge(RegistrationLockStatus.Throttled, lapsesAt, RetryAfterMs: record.Attempts[0] + window - now);
        }

        // Counted (and stored) before the PIN is hashed: a crash or a dropped answer still spends the attempt.
        record.Attempts.Add(now);
        await account.WriteStateAsync();
        return new RegistrationLockChallenge(RegistrationLockStatus.Attempt, lapsesAt, Salt: record.Salt, Iterations: record.Iterations);
    }

    public async Task<bool> SetRegistrationLockAsync(RegistrationLockHash pin)
    {
        if (!State.Exists)
        {
            return false;
        }

        State.RegistrationLock = new RegistrationLockRecord { Salt = pin.Salt, Iterations = pin.Iterations, Hash = pin.Hash, SetAt = Now };
        await account.WriteStateAsync();
        ClusterMetrics.RegistrationLockChanges.Add(1, new KeyValuePair<string, object?>("change", "set"));
        return true;
    }

    public async Task RemoveRegistrationLockAsync()
    {
        if (State.RegistrationLock is null)
        {
            return;
        }

        State.RegistrationLock = null;
        await account.WriteStateAsync();
        ClusterMetrics.RegistrationLockChanges.Add(1, new KeyValuePair<string, object?>("change", "removed"));
    }

    /// <summary>Whether a re-registration may go ahead: no lock in force, or <paramref name="pinHash"/> matches it.</summary>
    private bool PassesRegistrationLock(byte[]? pinHash, out long lapsesAt)
    {
        if (!LockInForce(out var record, out lapsesAt))
        {
            return true;
        }

        var passed = pinHash is not null && CryptographicOperations.FixedTimeEquals(pinHash, record.Hash);
        ClusterMetrics.RegistrationLockChecks.Add(1, new KeyValuePair<string, object?>("outcome", passed ? "passed" : "wrong_pin"));
        return passed;
    }

    /// <summary>The lock, when one is set and the primary has not been away past the lapse.</summary>
    private bool LockInForce([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RegistrationLockRecord? record, out long lapsesAt)
    {
        record = State.Exists ? State.RegistrationLock : null;
        lapsesAt = 0;
        if (record is null || !State.Devices.TryGetValue(DeviceAddress.PrimaryDeviceId, out var primary))
        {
            return false;
        }

        // LastSeenAt is the start of the day the primary was last seen: the lapse counts from that day's end.
        lapsesAt = primary.LastSeenAt + DayMs + (long)LockOptions.RegistrationLockLapse.TotalMilliseconds;
        return Now < lapsesAt;
    }
}
