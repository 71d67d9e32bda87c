using Cluster.Abstractions.Accounts;
using Cluster.Grains.Observability;
using Cluster.Silo.Authentication;
using Cluster.Silo.Keys;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;
using Cluster.Silo.Verification;

namespace Cluster.Silo.Accounts;

/// <summary>
/// <c>POST /v1/accounts</c> (registration, anonymous, rate-limited per client address; of a registered number, a
/// re-registration handed to <see cref="ReRegistration"/>) and <c>GET /v1/devices</c> (the account's own devices). Owns
/// no state: checks the input (ids, password, keys via <c>Keys/</c>), hashes the password (<c>Authentication/</c>), then
/// asks the account grain; answers 4xx for bad input before anything is stored.
/// </summary>
internal static class AccountEndpoints
{
    public const int MaxNameLength = 256;

    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPost("/accounts", RegisterAsync).Operation("registerAccount", "Accounts", "Register an account and its primary device").Accepts<RegisterAccountRequest>().Returns<RegisterAccountResponse>(201).Errors(403, 409, 422).RequireRateLimiting(AnonymousLimits.RegistrationPolicy);
        v1.MapGet("/devices", GetDevicesAsync).Operation("listOwnDevices", "Accounts", "The account's own devices").Returns<DeviceListResponse>().Errors().RequireAuthorization();
        v1.MapDelete("/account", DeleteAsync).Operation("deleteAccount", "Accounts", "Delete the account for good (primary only; confirm is the account's own number)").ReturnsNothing().Errors(400, 403, 404).RequireAuthorization();
    }

    /// <summary><c>DELETE /v1/account?confirm=&lt;own number&gt;</c>: the confirmation keeps a stray request from deleting.</summary>
    private static async Task<IResult> DeleteAsync(HttpContext context, IGrainFactory grains, string? confirm)
    {
        var device = context.Device();
        if (!device.Address.IsPrimary)
        {
            throw ApiException.Forbidden("only the primary device may delete the account");
        }

        if (confirm is null)
        {
            throw ApiException.MissingField("confirm");
        }

        if (confirm != device.Address.AccountId)
        {
            throw ApiException.InvalidField("confirm", "must be the account's own number");
        }

        var status = await grains.GetGrain<IAccountGrain>(device.Address.AccountId).DeleteAccountAsync(device.Address.DeviceId);
        return status switch
        {
            DeleteAccountStatus.Deleted => Results.NoContent(),
            DeleteAccountStatus.NotPrimary => throw ApiException.Forbidden("only the primary device may delete the account"),
            _ => throw ApiException.NotFound("account"),
        };
    }

    private static async Task<IResult> RegisterAsync(HttpContext context, IGrainFactory grains, PasswordHashing passwords, IOptions<Grains.Verification.VerificationOptions> verification)
    {
        var request = await JsonBody.ReadAsync(context, ProtocolJson.Default.RegisterAccountRequest);
        var accountId = request.AccountId ?? throw ApiException.MissingField("accountId");
        if (!AccountIds.IsValid(accountId))
        {
            throw ApiException.InvalidField("accountId", "must be an E.164 number (+ and 7 to 15 digits)");
        }

        var password = request.Password ?? throw ApiException.MissingField("password");
        if (!DeviceAuthentication.IsValidPassword(password))
        {
            throw ApiException.InvalidField("password", "must be 16 to 128 printable ASCII characters");
        }

        var registrationId = ValidateRegistrationId(request.RegistrationId);
        var name = ValidateName(request.Name);
        var identityKey = KeyValidation.EcPublicKey(request.IdentityKey, "identityKey");
        var keys = KeyValidation.Upload(request.SignedPreKey, request.KemLastResortKey, request.OneTimePreKeys, request.KemOneTimeKeys, requireBaseKeys: true);
        KeyValidation.VerifySignatures(keys, identityKey);
        var registrationLock = RegistrationLockHashing.Validate(request.RegistrationLock, "registrationLock");

        // The code last, once the input is known good: a malformed request does not use up a code.
        var (refused, verified) = await VerificationEndpoints.CheckAsync(context, grains, verification.Value, accountId, request.VerificationCode);
        if (refused is not null)
        {
            return refused;
        }

        var registration = new RegisterAccount
        {
            PasswordHash = "",
            RegistrationId = registrationId,
            Name = name,
            IdentityKey = identityKey,
            Keys = keys,
        };
        IResult? result = null;
        try
        {
            result = await RegisterVerifiedAsync(context, grains, passwords, verification.Value.Required, accountId, registration, password, registrationLock);
            return result;
        }
        finally
        {
            if (verified is not null && result is not IStatusCodeHttpResult { StatusCode: StatusCodes.Status201Created })
            {
                // Refused (or failed) for a reason that was not the code's (a registration lock, a busy silo): the code stays good.
                await VerificationEndpoints.ReinstateAsync(grains, verified);
            }
        }
    }

    /// <summary>The registration once its code is verified (or none is required): the password's hash, then a first registration or a move to a new phone.</summary>
    private static async Task<IResult> RegisterVerifiedAsync(
        HttpContext context, IGrainFactory grains, PasswordHashing passwords, bool verified, string accountId, RegisterAccount registration, string password, string? registrationLock)
    {
        if (await passwords.HashAsync(password, context.RequestAborted) is not { } passwordHash)
        {
            return RateLimitRefusal.HashingBusy.ToResult(context);
        }

        registration = registration with { PasswordHash = passwordHash };
        if (!await grains.GetGrain<IAccountGrain>(accountId).RegisterAsync(registration))
        {
            // A verified registration of a registered number moves it to this new primary (ReRegistration); without
            // verification (a closed test deployment) nothing proves the number is the caller's, so it stays refused.
            return verified
                ? await ReRegistration.ReplaceAsync(context, grains, accountId, registration, registrationLock)
                : ApiErrorHandling.Error(StatusCodes.Status409Conflict, "account_exists", $"account {accountId} exists already");
        }

        ClusterMetrics.AccountsRegistered.Add(1);
        return Results.Json(new RegisterAccountResponse(accountId, Abstractions.DeviceAddress.PrimaryDeviceId), ProtocolJson.Default.RegisterAccountResponse, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> GetDevicesAsync(HttpContext context, IGrainFactory grains)
    {
        var devices = await grains.GetGrain<IAccountGrain>(context.Device().Address.AccountId).GetDevicesAsync();
        var list = new List<DeviceInfoResponse>(devices.Count);
        foreach (var d in devices)
        {
            list.Add(new DeviceInfoResponse(d.DeviceId, d.Name, d.RegistrationId, d.LinkedAt, d.LastSeenAt));
        }

        return Results.Json(new DeviceListResponse(list), ProtocolJson.Default.DeviceListResponse);
    }

    public static int ValidateRegistrationId(int? registrationId) => registrationId switch
    {
        null => throw ApiException.MissingField("registrationId"),
        < 1 or > 16380 => throw ApiException.InvalidField("registrationId", "must be 1..16380"),
        _ => registrationId.Value,
    };

    public static string? ValidateName(string? name) => name is { Length: > MaxNameLength }
        ? throw ApiException.InvalidField("name", $"at most {MaxNameLength} characters")
        : name;
}
