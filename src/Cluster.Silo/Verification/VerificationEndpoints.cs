using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Verification;
using Cluster.Grains.Verification;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Verification;

/// <summary>
/// <c>POST /v1/accounts/verification</c> (anonymous, limited per client address by <c>AnonymousLimits:Verification*</c>
/// and per number by the grain) and <see cref="CheckAsync"/>, which registration calls before it stores anything.
/// Owns no state: the code lives in the number's <see cref="IVerificationGrain"/>, and leaves only through the sender.
/// </summary>
internal static class VerificationEndpoints
{
    public static void Map(IEndpointRouteBuilder v1) =>
        v1.MapPost("/accounts/verification", RequestAsync).Operation("requestVerificationCode", "Accounts", "Send a verification code to a number, for registering it").Accepts<VerificationCodeRequest>().Returns<VerificationCodeResponse>(202).Errors().RequireRateLimiting(AnonymousLimits.VerificationPolicy);

    private static async Task<IResult> RequestAsync(HttpContext context, IGrainFactory grains, IVerificationSender sender)
    {
        var request = await JsonBody.ReadAsync(context, ProtocolJson.Default.VerificationCodeRequest);
        var accountId = request.AccountId ?? throw ApiException.MissingField("accountId");
        if (!AccountIds.IsValid(accountId))
        {
            throw ApiException.InvalidField("accountId", "must be an E.164 number (+ and 7 to 15 digits)");
        }

        var code = await grains.GetGrain<IVerificationGrain>(accountId).RequestCodeAsync();
        if (code.Code is null)
        {
            return RateLimitRefusal.TooMany(Limits.VerificationCodesNumber, TimeSpan.FromMilliseconds(code.RetryAfterMs), "too many verification codes for this number").ToResult(context);
        }

        if (!await sender.SendAsync(accountId, code.Code, context.RequestAborted))
        {
            return ApiErrorHandling.Error(StatusCodes.Status503ServiceUnavailable, "send_failed", "the verification code could not be sent; try again later");
        }

        return Results.Json(new VerificationCodeResponse(accountId, code.ExpiresAt), ProtocolJson.Default.VerificationCodeResponse, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>
    /// Uses up <paramref name="code"/> for <paramref name="accountId"/>, or throws the refusal: 400 for a missing or
    /// malformed code, 403 <c>invalid_code</c> for a wrong, expired or used one, 429 when the number took too many
    /// wrong guesses. On success, <c>Verified</c> is the used code, for <see cref="ReinstateAsync"/> if the
    /// registration then does not happen; null when <see cref="VerificationOptions.Required"/> is off (nothing checked).
    /// </summary>
    public static async Task<(IResult? Refused, VerifiedCode? Verified)> CheckAsync(HttpContext context, IGrainFactory grains, VerificationOptions options, string accountId, string? code)
    {
        if (!options.Required)
        {
            return (null, null);
        }

        if (code is null)
        {
            throw ApiException.MissingField("verificationCode");
        }

        if (code.Length != options.CodeDigits || !code.All(char.IsAsciiDigit))
        {
            throw ApiException.InvalidField("verificationCode", $"must be {options.CodeDigits} digits");
        }

        var check = await grains.GetGrain<IVerificationGrain>(accountId).ConsumeAsync(code);
        return check.Status switch
        {
            CodeCheckStatus.Verified => (null, new VerifiedCode(accountId, code, check.ExpiresAt)),
            CodeCheckStatus.Throttled => (RateLimitRefusal.TooMany(Limits.VerificationGuessesNumber, TimeSpan.FromMilliseconds(check.RetryAfterMs), "too many wrong verification codes for this number").ToResult(context), null),
            _ => (ApiErrorHandling.Error(StatusCodes.Status403Forbidden, "invalid_code", "the verification code is wrong, expired or used; request a new one"), null),
        };
    }

    /// <summary>
    /// Gives a verified code back to its number (valid until its own expiry, unless a newer code was sent) when the
    /// registration it was used for answered anything but 201: a registration lock's 423 or 429, a busy 503. The
    /// caller proved control of the number once; asking for the PIN must not cost another code.
    /// </summary>
    public static Task ReinstateAsync(IGrainFactory grains, VerifiedCode verified) =>
        grains.GetGrain<IVerificationGrain>(verified.AccountId).ReinstateAsync(verified.Code, verified.ExpiresAt);
}

/// <summary>A code <see cref="VerificationEndpoints.CheckAsync"/> used up for a registration, and when it would have expired (Unix ms).</summary>
internal sealed record VerifiedCode(string AccountId, string Code, long ExpiresAt);
