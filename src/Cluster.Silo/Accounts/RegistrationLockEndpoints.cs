using Cluster.Abstractions.Accounts;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Authentication;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Accounts;

/// <summary>
/// <c>PUT</c> and <c>DELETE /v1/account/registration-lock</c> (the primary only, 403 for a companion): sets or removes
/// the PIN a re-registration of the number must present. Owns no state: checks the PIN's shape, hashes it through
/// <see cref="RegistrationLockHashing"/> (503 <c>busy</c> when its gate is full), and hands only the hash to the account
/// grain.
/// </summary>
internal static class RegistrationLockEndpoints
{
    public const string Route = "/account/registration-lock";

    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPut(Route, SetAsync).Operation("setRegistrationLock", "Accounts", "Set the registration-lock PIN a re-registration must present (primary only)").Accepts<RegistrationLockRequest>().ReturnsNothing().Errors(400, 403, 404, 503).RequireAuthorization();
        v1.MapDelete(Route, RemoveAsync).Operation("removeRegistrationLock", "Accounts", "Remove the registration lock (primary only)").ReturnsNothing().Errors(403).RequireAuthorization();
    }

    private static async Task<IResult> SetAsync(HttpContext context, IGrainFactory grains, RegistrationLockHashing hashing)
    {
        var device = RequirePrimary(context);
        var request = await JsonBody.ReadAsync(context, ProtocolJson.Default.RegistrationLockRequest);
        var pin = RegistrationLockHashing.Validate(request.Pin, "pin") ?? throw ApiException.MissingField("pin");
        if (await hashing.NewLockAsync(pin, context.RequestAborted) is not { } hash)
        {
            return RegistrationLockHashing.Busy.ToResult(context);
        }

        return await grains.GetGrain<IReRegistrationGrain>(device.Address.AccountId).SetRegistrationLockAsync(hash)
            ? Results.NoContent()
            : throw ApiException.NotFound("account");
    }

    private static async Task<IResult> RemoveAsync(HttpContext context, IGrainFactory grains)
    {
        var device = RequirePrimary(context);
        await grains.GetGrain<IReRegistrationGrain>(device.Address.AccountId).RemoveRegistrationLockAsync();
        return Results.NoContent();
    }

    private static AuthenticatedDevice RequirePrimary(HttpContext context)
    {
        var device = context.Device();
        return device.Address.IsPrimary ? device : throw ApiException.Forbidden("only the primary may set or remove the registration lock");
    }
}
