using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Grains;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;
using Microsoft.AspNetCore.Authentication;

namespace Cluster.Silo.Authentication;

/// <summary>The device a request is authenticated as, with what its account holds about it.</summary>
internal sealed record AuthenticatedDevice(DeviceAddress Address, DeviceCredential Credential);

internal static class DeviceAuthentication
{
    public const string Scheme = "Device";

    /// <summary>The authenticated device of a request that passed <c>RequireAuthorization</c>.</summary>
    public static AuthenticatedDevice Device(this HttpContext context) =>
        context.Features.Get<AuthenticatedDevice>() ?? throw new InvalidOperationException("the endpoint does not require authorization");

    /// <summary>Password rules of the protocol: 16 to 128 printable ASCII characters.</summary>
    public static bool IsValidPassword(string? password)
    {
        if (password is null || password.Length is < 16 or > 128)
        {
            return false;
        }

        foreach (var c in password)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// HTTP Basic <c>accountId.deviceId:password</c>, or on a WebSocket upgrade <c>?login=accountId.deviceId&amp;password=...</c>.
/// The device's account grain is asked on every request, so a removed device is refused at once. A password verified
/// before on this silo (<see cref="PasswordHashing.VerifiedHash"/>) is served without hashing and without touching the
/// failure budgets, so a flood of wrong passwords never locks out a device that is already in; every other check takes
/// from the device's and the client address's budget first (<see cref="CredentialThrottle"/>: 429 when spent, before
/// any grain call or hash) and then waits for the hashing gate (503 <c>busy</c> when it is full).
/// </summary>
internal sealed class DeviceAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IGrainFactory grains,
    PasswordHashing passwords,
    CredentialThrottle throttle,
    ClientAddresses clients) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private RateLimitRefusal? refusal;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Only endpoints that require a device check credentials: a password on /health/live or an anonymous route
        // (or on no route at all) costs neither a hash nor a grain call, nor a failed-attempt budget.
        if (Context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>() is null)
        {
            return AuthenticateResult.NoResult();
        }

        if (!TryReadCredentials(out var login, out var password))
        {
            return AuthenticateResult.NoResult();
        }

        if (!DeviceAddress.TryParse(login, out var address) || !AccountIds.IsValid(address.AccountId) || password.Length > 128)
        {
            return AuthenticateResult.Fail("malformed credentials");
        }

        var device = address.GrainKey;
        var client = clients.KeyOf(Context);
        var verifiedHash = passwords.VerifiedHash(device, password);
        var holding = false;
        try
        {
            if (verifiedHash is null && !TryBegin(device, client, ref holding))
            {
                return AuthenticateResult.Fail("throttled");
            }

            var credential = await grains.Get<IAccountGrain>(address.AccountId).AuthenticateAsync(address.DeviceId);
            if (verifiedHash is not null && credential is not null && string.Equals(verifiedHash, credential.PasswordHash, StringComparison.Ordinal))
            {
                return Success(address, credential);
            }

            if (!holding && !TryBegin(device, client, ref holding))
            {
                return AuthenticateResult.Fail("throttled");
            }

            switch (await passwords.VerifyAsync(device, password, credential?.PasswordHash, Context.RequestAborted))
            {
                case true:
                    return Success(address, credential!);
                case null:
                    refusal = RateLimitRefusal.HashingBusy;
                    return AuthenticateResult.Fail("busy");
                default:
                    holding = false;
                    return AuthenticateResult.Fail("wrong credentials");
            }
        }
        catch (OperationCanceledException) when (Context.RequestAborted.IsCancellationRequested)
        {
            return AuthenticateResult.Fail("request aborted");
        }
        finally
        {
            // Only a wrong password keeps its tokens: a success, a full gate or a failed grain call is no failed login.
            if (holding)
            {
                throttle.Refund(device, client);
            }
        }
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (refusal is not { } refused)
        {
            await WriteError(StatusCodes.Status401Unauthorized, "unauthorized", "missing or wrong credentials");
            return;
        }

        if (refused.Status == StatusCodes.Status429TooManyRequests && throttle.RefusalDelay > TimeSpan.Zero)
        {
            // A spent failure budget is answered late, on the real clock like Kestrel's own timeouts: a closed loop of
            // refused logins then runs at one a second per connection, not as fast as the silo can say 429.
            try
            {
                await Task.Delay(throttle.RefusalDelay, Context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        await refused.WriteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteError(StatusCodes.Status403Forbidden, "forbidden", "this device may not do that");

    private bool TryBegin(string device, string client, ref bool holding)
    {
        refusal = throttle.TryBegin(device, client);
        holding = refusal is null;
        return holding;
    }

    private AuthenticateResult Success(DeviceAddress address, DeviceCredential credential)
    {
        Context.Features.Set(new AuthenticatedDevice(address, credential));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, address.GrainKey)], DeviceAuthentication.Scheme);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), DeviceAuthentication.Scheme));
    }

    private Task WriteError(int status, string error, string message)
    {
        Response.StatusCode = status;
        return Response.WriteAsJsonAsync(new ApiError(error, message), ProtocolJson.Default.ApiError);
    }

    private bool TryReadCredentials(out string login, out string password)
    {
        login = password = "";
        if (AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
            && string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) && header.Parameter is { } parameter)
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(parameter));
            }
            catch (FormatException)
            {
                return false;
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                return false;
            }

            (login, password) = (decoded[..colon], decoded[(colon + 1)..]);
            return true;
        }

        if (HttpMethods.IsGet(Request.Method) && Request.Headers.Upgrade.Count > 0
            && Request.Query.TryGetValue("login", out var queryLogin) && Request.Query.TryGetValue("password", out var queryPassword))
        {
            (login, password) = (queryLogin.ToString(), queryPassword.ToString());
            return true;
        }

        return false;
    }
}
