namespace Cluster.Abstractions.Verification;

/// <summary>
/// The verification codes of one phone number (key: the E.164 number), whether or not an account has it: issues a
/// random single-use code (the caller sends it, the grain keeps only its salted hash), checks a submitted one in
/// constant time, and limits both per number. Not reentrant, so a code cannot be used twice by two racing requests.
/// </summary>
[Alias("IVerificationGrain")]
public interface IVerificationGrain : IGrainWithStringKey
{
    /// <summary>Makes a new code (replacing any earlier one) unless the number's request limit says wait.</summary>
    [Alias("RequestCode")]
    Task<CodeRequest> RequestCodeAsync();

    /// <summary>Checks <paramref name="code"/>; a correct one is used up, too many wrong ones void the code.</summary>
    [Alias("Consume")]
    Task<CodeCheck> ConsumeAsync(string code);

    /// <summary>
    /// Gives back <paramref name="code"/>, verified a moment ago by <see cref="ConsumeAsync"/>, when the registration it
    /// was for did not happen for a reason that was not the code's (a registration lock asked for the PIN, the PIN was
    /// wrong or throttled, the silo was too busy to hash): it stays valid until <paramref name="expiresAt"/>, as it was,
    /// unless a newer code has been issued meanwhile. The PIN's own limits, not the code, bound the PIN attempts.
    /// </summary>
    [Alias("Reinstate")]
    Task ReinstateAsync(string code, long expiresAt);

    /// <summary>Deletes the number's state if nothing in it still counts (no live code, nothing within the window); called by the grain's own expiry timer and reminder.</summary>
    [Alias("Expire")]
    Task ExpireAsync();

    /// <summary>Deletes the number's state whatever it holds (its account was deleted).</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}

/// <summary>A new code (null: refused, retry after <see cref="RetryAfterMs"/>) and when it expires (Unix ms).</summary>
[GenerateSerializer, Immutable, Alias("CodeRequest")]
public sealed record CodeRequest([property: Id(0)] string? Code, [property: Id(1)] long ExpiresAt, [property: Id(2)] long RetryAfterMs);

/// <summary>What a code check found.</summary>
public enum CodeCheckStatus
{
    /// <summary>The code was right and is now used up.</summary>
    Verified,

    /// <summary>Wrong code; the code stays valid for the attempts left.</summary>
    Wrong,

    /// <summary>No code outstanding: never requested, expired, used, or voided by too many wrong guesses.</summary>
    NoCode,

    /// <summary>Too many wrong guesses for the number lately; retry after the wait.</summary>
    Throttled,
}

/// <summary>The outcome of a check; when throttled, how long to wait (ms); when verified, when the code would have expired (Unix ms).</summary>
[GenerateSerializer, Immutable, Alias("CodeCheck")]
public sealed record CodeCheck([property: Id(0)] CodeCheckStatus Status, [property: Id(1)] long RetryAfterMs, [property: Id(2)] long ExpiresAt = 0);
