using System.Globalization;
using Cluster.Abstractions.Accounts;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Accounts;

/// <summary>
/// The second half of <c>POST /v1/accounts</c> for a number that is registered already (the code was verified and the
/// password hashed by <see cref="AccountEndpoints"/>): the registration lock's challenge (423 without the PIN, 429 past
/// the number's attempts, both before any hashing), the PIN hash through <see cref="RegistrationLockHashing"/>, then
/// the account grain's replacement of the primary. Owns no state; never logs or keeps the PIN.
/// </summary>
internal static partial class ReRegistration
{
    public static async Task<IResult> ReplaceAsync(HttpContext context, IGrainFactory grains, string accountId, RegisterAccount registration, string? pin)
    {
        var account = grains.GetGrain<IReRegistrationGrain>(accountId);
        var challenge = await account.ChallengeRegistrationLockAsync(pin is not null);
        byte[]? pinHash = null;
        switch (challenge.Status)
        {
            case RegistrationLockStatus.PinRequired:
                return Locked(context, challenge.LapsesAt, "this number has a registration lock: register again with the same code and registrationLock (the PIN)");
            case RegistrationLockStatus.Throttled:
                return RateLimitRefusal.TooMany(Limits.RegistrationLockNumber, TimeSpan.FromMilliseconds(challenge.RetryAfterMs), "too many registration-lock PIN attempts for this number").ToResult(context);
            case RegistrationLockStatus.Attempt:
                var hashing = context.RequestServices.GetRequiredService<RegistrationLockHashing>();
                pinHash = await hashing.DeriveAsync(pin!, challenge.Salt!, challenge.Iterations, context.RequestAborted);
                if (pinHash is null)
                {
                    return RegistrationLockHashing.Busy.ToResult(context);
                }

                break;
        }

        var result = await account.ReRegisterAsync(registration, pinHash);
        switch (result.Status)
        {
            case ReRegistrationStatus.Locked:
                return Locked(context, result.LapsesAt, "the registration-lock PIN is wrong: register again with the same code and the right registrationLock");
            case ReRegistrationStatus.NoAccount when await grains.GetGrain<IAccountGrain>(accountId).RegisterAsync(registration):
                // The account went away between the two steps (deleted): this is a first registration after all.
                Grains.Observability.ClusterMetrics.AccountsRegistered.Add(1);
                return Registered(accountId);
            case ReRegistrationStatus.NoAccount:
                return ApiErrorHandling.Error(StatusCodes.Status409Conflict, "account_exists", $"account {accountId} changed meanwhile; register again");
        }

        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ReRegistration));
        LogReplaced(logger, accountId, result.CompanionsUnlinked);
        return Registered(accountId);
    }

    private static IResult Registered(string accountId) =>
        Results.Json(new RegisterAccountResponse(accountId, Abstractions.DeviceAddress.PrimaryDeviceId), ProtocolJson.Default.RegisterAccountResponse, statusCode: StatusCodes.Status201Created);

    private static IResult Locked(HttpContext context, long lapsesAt, string message)
    {
        var time = context.RequestServices.GetRequiredKeyedService<TimeProvider>(Grains.ClusterClock.Key);
        var remaining = Math.Max(0, lapsesAt - time.GetUtcNow().ToUnixTimeMilliseconds());
        var days = string.Create(CultureInfo.InvariantCulture, $"{remaining / 86_400_000.0:0.#}");
        return Results.Json(
            new RegistrationLockedError("registration_locked", $"{message} (the lock lapses in {days} days if the primary stays away)", remaining, lapsesAt),
            ProtocolJson.Default.RegistrationLockedError,
            statusCode: StatusCodes.Status423Locked);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} moved to a new primary; {Companions} companions unlinked")]
    private static partial void LogReplaced(ILogger logger, string accountId, int companions);
}
