using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cluster.Abstractions.Verification;
using Cluster.Grains.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cluster.Grains.Verification;

/// <summary>
/// One number's verification code (key: the E.164 number). Holds in its grain state (storage <see cref="GrainStorage"/>,
/// no table of its own): the salted SHA-256 of the outstanding code, its expiry and wrong guesses, and the times of
/// the codes sent and wrong guesses made within <see cref="VerificationOptions.Window"/>. Grain state rather than a
/// table because every read and write is per number, the grain is the single writer (not reentrant: a code cannot be
/// consumed twice by racing requests), and the state is a few hundred bytes on both engines without a migration.
/// Bounded: the time lists are pruned to the window and capped by the per-number limits. Touches nothing else.
/// </summary>
internal sealed class VerificationGrain(
    [PersistentState("verification", GrainStorage.Name)] IPersistentState<VerificationState> state,
    IOptions<VerificationOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time) : Grain, IVerificationGrain
{
    private VerificationOptions Options => options.Value;

    private VerificationState State => state.State;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<CodeRequest> RequestCodeAsync()
    {
        var now = Now;
        Prune(now);
        var window = (long)Options.Window.TotalMilliseconds;
        if (State.SentAt.Count >= Options.MaxCodesPerNumber)
        {
            ClusterMetrics.VerificationRefused.Add(1, new KeyValuePair<string, object?>("reason", "codes_per_number"));
            return new CodeRequest(null, 0, State.SentAt[0] + window - now);
        }

        if (State.SentAt.Count > 0 && State.SentAt[^1] + (long)Options.MinInterval.TotalMilliseconds > now)
        {
            ClusterMetrics.VerificationRefused.Add(1, new KeyValuePair<string, object?>("reason", "code_interval"));
            return new CodeRequest(null, 0, State.SentAt[^1] + (long)Options.MinInterval.TotalMilliseconds - now);
        }

        var code = RandomNumberGenerator.GetInt32(0, (int)Math.Pow(10, Math.Min(Options.CodeDigits, 9)))
            .ToString(CultureInfo.InvariantCulture).PadLeft(Options.CodeDigits, '0');
        if (Options.CodeDigits > 9)
        {
            code = RandomNumberGenerator.GetString("0123456789", Options.CodeDigits);
        }

        State.Salt = RandomNumberGenerator.GetBytes(16);
        State.CodeHash = Hash(State.Salt, code);
        State.ExpiresAt = now + (long)Options.CodeLifetime.TotalMilliseconds;
        State.Attempts = 0;
        State.SentAt.Add(now);
        await state.WriteStateAsync();
        ClusterMetrics.VerificationCodes.Add(1);
        return new CodeRequest(code, State.ExpiresAt, 0);
    }

    public async Task<CodeCheck> ConsumeAsync(string code)
    {
        var now = Now;
        Prune(now);
        if (State.WrongAt.Count >= Options.MaxWrongGuessesPerNumber)
        {
            ClusterMetrics.VerificationChecks.Add(1, new KeyValuePair<string, object?>("outcome", "throttled"));
            return new CodeCheck(CodeCheckStatus.Throttled, State.WrongAt[0] + (long)Options.Window.TotalMilliseconds - now);
        }

        if (State.CodeHash is null || State.ExpiresAt <= now)
        {
            ClusterMetrics.VerificationChecks.Add(1, new KeyValuePair<string, object?>("outcome", "no_code"));
            return new CodeCheck(CodeCheckStatus.NoCode, 0);
        }

        if (CryptographicOperations.FixedTimeEquals(State.CodeHash, Hash(State.Salt, code)))
        {
            State.CodeHash = null;
            State.Salt = [];
            await state.WriteStateAsync();
            ClusterMetrics.VerificationChecks.Add(1, new KeyValuePair<string, object?>("outcome", "verified"));
            return new CodeCheck(CodeCheckStatus.Verified, 0);
        }

        State.WrongAt.Add(now);
        if (++State.Attempts >= Options.MaxAttemptsPerCode)
        {
            State.CodeHash = null;
        }

        await state.WriteStateAsync();
        ClusterMetrics.VerificationChecks.Add(1, new KeyValuePair<string, object?>("outcome", "wrong"));
        return new CodeCheck(CodeCheckStatus.Wrong, 0);
    }

    private void Prune(long now)
    {
        var since = now - (long)Options.Window.TotalMilliseconds;
        State.SentAt.RemoveAll(t => t <= since);
        State.WrongAt.RemoveAll(t => t <= since);
    }

    private static byte[] Hash(byte[] salt, string code)
    {
        var input = new byte[salt.Length + Encoding.UTF8.GetByteCount(code)];
        salt.CopyTo(input, 0);
        Encoding.UTF8.GetBytes(code, 0, code.Length, input, salt.Length);
        return SHA256.HashData(input);
    }
}

[GenerateSerializer, Alias("VerificationState")]
internal sealed class VerificationState
{
    /// <summary>The random salt of <see cref="CodeHash"/>.</summary>
    [Id(0)] public byte[] Salt { get; set; } = [];

    /// <summary>SHA-256(salt || code) of the outstanding code; null: none.</summary>
    [Id(1)] public byte[]? CodeHash { get; set; }

    /// <summary>When the outstanding code expires (Unix ms).</summary>
    [Id(2)] public long ExpiresAt { get; set; }

    /// <summary>Wrong guesses against the outstanding code.</summary>
    [Id(3)] public int Attempts { get; set; }

    /// <summary>When codes were sent within the window (Unix ms, oldest first).</summary>
    [Id(4)] public List<long> SentAt { get; set; } = [];

    /// <summary>When wrong guesses were made within the window (Unix ms, oldest first).</summary>
    [Id(5)] public List<long> WrongAt { get; set; } = [];
}
