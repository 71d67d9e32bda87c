using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cluster.Abstractions.Verification;
using Cluster.Grains.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cluster.Grains.Verification;

/// <summary>
/// One number's verification code (key: the E.164 number). Holds in its grain state (storage <see cref="GrainStorage"/>,
/// no table of its own): the salted SHA-256 of the outstanding code, its expiry and wrong guesses, and the times of
/// the codes sent and wrong guesses made within <see cref="VerificationOptions.Window"/>. Grain state rather than a
/// table because every read and write is per number, the grain is the single writer (not reentrant: a code cannot be
/// consumed twice by racing requests), and the state is a few hundred bytes on both engines without a migration.
/// Bounded: the time lists are pruned to the window and capped by the per-number limits. The state row does not
/// outlive its use: a verified code deletes it, and once nothing in it counts any more (the code expired, every time
/// older than the window) an expiry timer on the product clock deletes it, with a durable reminder (Orleans' clock,
/// a minute or more apart) for an activation that was collected or a silo that died before then. Touches nothing else.
/// </summary>
// Idle activations go after two minutes, not the cluster's default: a registration storm leaves one per number, each
// about 1.7 KiB, for nothing once the code is used; a state still counting is reloaded from storage on its next call,
// and its expiry falls back to the durable reminder.
[CollectionAgeLimit(Minutes = 2)]
internal sealed partial class VerificationGrain(
    [PersistentState("verification", GrainStorage.Name)] IPersistentState<VerificationState> state,
    IOptions<VerificationOptions> options,
    IOptions<ReminderOptions> reminderOptions,
    ILogger<VerificationGrain> logger,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time) : Grain, IVerificationGrain, IRemindable
{
    private const string ExpiryReminder = "expiry";

    // The in-memory expiry timer on the product clock, or null: set by ArmExpiry, disposed by it, ClearAsync and deactivation.
    private ITimer? expiryTimer;

    // Whether this activation has registered the expiry reminder: set by ArmExpiry, cleared by ClearAsync.
    private bool reminderRegistered;

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
        await ArmExpiryAsync();
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
            // Whoever holds the right code controls the number: its history of codes and guesses is of no more use.
            var expiresAt = State.ExpiresAt;
            await ClearAsync();
            ClusterMetrics.VerificationStatesCleared.Add(1, new KeyValuePair<string, object?>("reason", "verified"));
            ClusterMetrics.VerificationChecks.Add(1, new KeyValuePair<string, object?>("outcome", "verified"));
            return new CodeCheck(CodeCheckStatus.Verified, 0, expiresAt);
        }

        State.WrongAt.Add(now);
        if (++State.Attempts >= Options.MaxAttemptsPerCode)
        {
            State.CodeHash = null;
        }

        await state.WriteStateAsync();
        await ArmExpiryAsync();
        ClusterMetrics.VerificationChecks.Add(1, new KeyValuePair<string, object?>("outcome", "wrong"));
        return new CodeCheck(CodeCheckStatus.Wrong, 0);
    }

    public async Task ReinstateAsync(string code, long expiresAt)
    {
        if (State.CodeHash is not null || expiresAt <= Now)
        {
            return;
        }

        State.Salt = RandomNumberGenerator.GetBytes(16);
        State.CodeHash = Hash(State.Salt, code);
        State.ExpiresAt = expiresAt;
        State.Attempts = 0;
        await state.WriteStateAsync();
        await ArmExpiryAsync();
        ClusterMetrics.VerificationChecks.Add(1, new KeyValuePair<string, object?>("outcome", "reinstated"));
    }

    public async Task ExpireAsync()
    {
        var now = Now;
        if (!state.RecordExists)
        {
            await ClearAsync();
            return;
        }

        if (ClearableAt() <= now)
        {
            await ClearAsync();
            ClusterMetrics.VerificationStatesCleared.Add(1, new KeyValuePair<string, object?>("reason", "expired"));
        }
        else
        {
            await ArmExpiryAsync();
        }
    }

    public Task ForgetAsync() => ClearAsync();

    public Task ReceiveReminder(string reminderName, TickStatus status) => ExpireAsync();

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        expiryTimer?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>When nothing in the state counts any more: the code has expired and every time in it is out of the window.</summary>
    private long ClearableAt()
    {
        var window = (long)Options.Window.TotalMilliseconds;
        var at = State.CodeHash is null ? 0 : State.ExpiresAt;
        if (State.SentAt.Count > 0)
        {
            at = Math.Max(at, State.SentAt[^1] + window);
        }

        if (State.WrongAt.Count > 0)
        {
            at = Math.Max(at, State.WrongAt[^1] + window);
        }

        return at;
    }

    /// <summary>
    /// Deletes the state row and the reminder. The activation, now empty, is left to idle collection rather than
    /// deactivated: that would forward the requests queued behind this one (a burst of registrations with the used code)
    /// to a new activation, and a burst of those could be rejected (a 503 at the gateway).
    /// </summary>
    private async Task ClearAsync()
    {
        expiryTimer?.Dispose();
        expiryTimer = null;
        await state.ClearStateAsync();
        state.State = new VerificationState();
        if (await this.GetReminder(ExpiryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        reminderRegistered = false;
    }

    /// <summary>Arms the product-clock timer for <see cref="ClearableAt"/>, and once per activation the durable reminder behind it.</summary>
    private async Task ArmExpiryAsync()
    {
        expiryTimer?.Dispose();
        var due = TimeSpan.FromMilliseconds(Math.Max(0, ClearableAt() - Now));
        expiryTimer = ProductTimers.Once(time, static s => ((ExpiryTrigger)s!).Fire(), new ExpiryTrigger(this.AsReference<IVerificationGrain>(), logger), due);
        if (!reminderRegistered)
        {
            var period = reminderOptions.Value.MinimumReminderPeriod > due ? reminderOptions.Value.MinimumReminderPeriod : due;
            await this.RegisterOrUpdateReminder(ExpiryReminder, period, period);
            reminderRegistered = true;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Expiring a verification state failed; its reminder tries again")]
    private static partial void LogExpiryFailed(ILogger logger, Exception ex);

    /// <summary>What the expiry timer runs: a call to the grain, whose failure is logged.</summary>
    private sealed class ExpiryTrigger(IVerificationGrain grain, ILogger logger)
    {
        public void Fire() => grain.ExpireAsync().ContinueWith(
            static (task, s) => ((ExpiryTrigger)s!).Failed(task.Exception!),
            this,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);

        private void Failed(Exception ex) => LogExpiryFailed(logger, ex);
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
