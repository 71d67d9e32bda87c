using System.ComponentModel.DataAnnotations;

namespace Cluster.Silo.RateLimiting;

/// <summary>
/// Per-client-address token buckets on the endpoints anyone may call; section <c>AnonymousLimits</c>. Each is a burst
/// and one more request every refill interval; over it: 429 <c>rate_limited</c> with <c>Retry-After</c>. Counted per
/// silo.
/// </summary>
public sealed class AnonymousLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "AnonymousLimits";

    /// <summary><c>POST /v1/accounts</c> requests a client address may make at once. Default: 20.</summary>
    [Range(1, 1_000_000)]
    public int RegistrationBurst { get; set; } = 20;

    /// <summary>One more registration per client address every this many seconds (120 an hour). Default: 30.</summary>
    [Range(0.001, 86_400)]
    public double RegistrationRefillSeconds { get; set; } = 30;

    /// <summary><c>POST /v1/accounts/verification</c> (code) requests a client address may make at once. Default: 10.</summary>
    [Range(1, 1_000_000)]
    public int VerificationBurst { get; set; } = 10;

    /// <summary>One more code request per client address every this many seconds (60 an hour). Default: 60.</summary>
    [Range(0.001, 86_400)]
    public double VerificationRefillSeconds { get; set; } = 60;

    /// <summary><c>PUT /v1/devices/link</c> requests a client address may make at once. Default: 20.</summary>
    [Range(1, 1_000_000)]
    public int LinkBurst { get; set; } = 20;

    /// <summary>One more link request per client address every this many seconds (120 an hour). Default: 30.</summary>
    [Range(0.001, 86_400)]
    public double LinkRefillSeconds { get; set; } = 30;

    /// <summary><c>GET /v1/provisioning</c> sockets a client address may open at once. Default: 20.</summary>
    [Range(1, 1_000_000)]
    public int ProvisioningBurst { get; set; } = 20;

    /// <summary>One more provisioning socket per client address every this many seconds (360 an hour). Default: 10.</summary>
    [Range(0.001, 86_400)]
    public double ProvisioningRefillSeconds { get; set; } = 10;
}

/// <summary>The ASP.NET Core rate-limiting policies of the anonymous endpoints, one partition per client address.</summary>
internal static class AnonymousLimits
{
    public const string RegistrationPolicy = "registration";
    public const string LinkPolicy = "link";
    public const string VerificationPolicy = "verification";
    public const string ProvisioningPolicy = "provisioning";
}
