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

/// <summary>The outcome of a check and, when throttled, how long to wait (ms).</summary>
[GenerateSerializer, Immutable, Alias("CodeCheck")]
public sealed record CodeCheck([property: Id(0)] CodeCheckStatus Status, [property: Id(1)] long RetryAfterMs);
