using System.Globalization;
using System.Text.Json.Serialization;
using Cluster.Grains.Observability;
using Cluster.Silo.Protocol;
using Microsoft.AspNetCore.RateLimiting;

namespace Cluster.Silo.RateLimiting;

/// <summary>The body of a rate-limit refusal: the usual error body plus <c>limit</c>, the name of the limit reached.</summary>
public sealed record RateLimitedError(string Error, string Message, string Limit);

/// <summary>A refusal by a limit: its status, error code, limit name, wait and message.</summary>
internal sealed record RateLimitRefusal(int Status, string Error, string Limit, TimeSpan RetryAfter, string Message)
{
    /// <summary>The hashing gate and its queue are full (<see cref="Authentication.PasswordHashingOptions.MaxConcurrentHashes"/>).</summary>
    public static readonly RateLimitRefusal HashingBusy = new(
        StatusCodes.Status503ServiceUnavailable, "busy", Limits.PasswordHashing, TimeSpan.FromSeconds(1), "too many password checks at once on this silo");

    public static RateLimitRefusal TooMany(string limit, TimeSpan retryAfter, string message) =>
        new(StatusCodes.Status429TooManyRequests, "rate_limited", limit, retryAfter, message);

    /// <summary>Sets <c>Retry-After</c>, counts the refusal in <c>cluster_rate_limited_total</c> and gives the answer.</summary>
    public IResult ToResult(HttpContext context)
    {
        var answer = ToAnswer();
        context.Response.Headers.RetryAfter = answer.RetryAfterSeconds?.ToString(CultureInfo.InvariantCulture);
        return answer.ToResult();
    }

    /// <summary>Counts the refusal in <c>cluster_rate_limited_total</c> and gives the answer (with its <c>Retry-After</c>), for any transport.</summary>
    public Answer ToAnswer()
    {
        var seconds = TokenBucket.RetryAfterSeconds(RetryAfter);
        ClusterMetrics.RateLimited.Add(1, new KeyValuePair<string, object?>("limit", Limit));
        return new Answer(
            Status,
            new RateLimitedError(Error, string.Create(CultureInfo.InvariantCulture, $"{Message}; retry in {seconds} s"), Limit),
            RateLimitJson.Default.RateLimitedError,
            seconds);
    }

    public Task WriteAsync(HttpContext context) => ToResult(context).ExecuteAsync(context);
}

/// <summary>The limit names (the <c>limit</c> member of a refusal and label of <c>cluster_rate_limited_total</c>).</summary>
internal static class Limits
{
    public const string AuthFailuresDevice = "auth_failures_device";
    public const string AuthFailuresClient = "auth_failures_ip";
    public const string PasswordHashing = "password_hashing";
    public const string Registration = "registration_ip";
    public const string Link = "link_ip";
    public const string Verification = "verification_ip";
    public const string VerificationCodesNumber = "verification_codes_number";
    public const string VerificationGuessesNumber = "verification_guesses_number";
    public const string Provisioning = "provisioning_ip";
    public const string ProvisioningSocketsClient = "provisioning_sockets_ip";
    public const string ProvisioningSocketsSilo = "provisioning_sockets_silo";
    public const string MessagesDevice = "messages_device";
    public const string MessagesDestination = "messages_destination";
    public const string CallsDevice = "calls_device";
    public const string CallsDestination = "calls_destination";
    public const string IceDevice = "ice_device";
    public const string RegistrationLockNumber = "registration_lock_number";
    public const string PinHashing = "pin_hashing";
    public const string GroupSendsDevice = "group_sends_device";
    public const string GroupChangesDevice = "group_changes_device";
    public const string SocketRequestsInFlight = "socket_requests_in_flight";

    /// <summary>Answers a request the ASP.NET Core rate limiter refused (a <see cref="ClockedTokenBucketLimiter"/> lease).</summary>
    public static Task OnRejectedAsync(OnRejectedContext rejected)
    {
        var limit = rejected.Lease.TryGetMetadata(ClockedTokenBucketLimiter.LimitName, out var name) ? name : "unknown";
        var wait = rejected.Lease.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        var what = limit switch
        {
            Registration => "too many registrations from this client address",
            Link => "too many link attempts from this client address",
            Verification => "too many verification code requests from this client address",
            Provisioning => "too many provisioning sockets opened from this client address",
            _ => "too many requests from this client address",
        };
        return RateLimitRefusal.TooMany(limit!, wait, what).WriteAsync(rejected.HttpContext);
    }
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(RateLimitedError))]
internal sealed partial class RateLimitJson : JsonSerializerContext;
