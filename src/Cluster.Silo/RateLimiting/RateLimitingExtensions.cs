using System.Net;
using System.Threading.RateLimiting;
using Cluster.Grains;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using IPNetwork = System.Net.IPNetwork;

namespace Cluster.Silo.RateLimiting;

/// <summary>The rate-limiting feature's one wiring point: client addresses, the anonymous policies, per-sender limits. No endpoints.</summary>
internal static class RateLimitingExtensions
{
    public static WebApplicationBuilder AddRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidateOptions<ClientAddressOptions>, ClientAddressOptionsValidator>();
        builder.Services.AddOptions<ClientAddressOptions>().BindConfiguration(ClientAddressOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<AnonymousLimitOptions>().BindConfiguration(AnonymousLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<SenderLimitOptions>().BindConfiguration(SenderLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ClientAddresses>();
        builder.Services.AddSingleton<SenderLimits>();
        builder.Services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = (rejected, _) => new ValueTask(Limits.OnRejectedAsync(rejected));
            AddPolicy(options, AnonymousLimits.RegistrationPolicy, Limits.Registration, o => (o.RegistrationBurst, o.RegistrationRefillSeconds));
            AddPolicy(options, AnonymousLimits.VerificationPolicy, Limits.Verification, o => (o.VerificationBurst, o.VerificationRefillSeconds));
            AddPolicy(options, AnonymousLimits.LinkPolicy, Limits.Link, o => (o.LinkBurst, o.LinkRefillSeconds));
            AddPolicy(options, AnonymousLimits.ProvisioningPolicy, Limits.Provisioning, o => (o.ProvisioningBurst, o.ProvisioningRefillSeconds));
        });
        return builder;
    }

    /// <summary>Reads <c>X-Forwarded-For</c> from the configured proxies only, when <see cref="ClientAddressOptions.TrustForwardedHeaders"/> is on.</summary>
    public static WebApplication UseClientAddresses(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ClientAddressOptions>>().Value;
        if (!options.TrustForwardedHeaders)
        {
            return app;
        }

        var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = options.ForwardLimit };
        // The defaults trust loopback; only what the operator named is trusted.
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (var proxy in options.KnownProxies)
        {
            forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
        }

        foreach (var network in options.KnownNetworks)
        {
            forwarded.KnownIPNetworks.Add(IPNetwork.Parse(network));
        }

        app.UseForwardedHeaders(forwarded);
        return app;
    }

    private static void AddPolicy(RateLimiterOptions options, string policy, string limit, Func<AnonymousLimitOptions, (int Burst, double RefillSeconds)> bucket) =>
        options.AddPolicy(policy, context =>
        {
            var services = context.RequestServices;
            var (burst, refillSeconds) = bucket(services.GetRequiredService<IOptions<AnonymousLimitOptions>>().Value);
            var time = services.GetRequiredKeyedService<TimeProvider>(ClusterClock.Key);
            return RateLimitPartition.Get(
                services.GetRequiredService<ClientAddresses>().KeyOf(context),
                _ => new ClockedTokenBucketLimiter(limit, burst, TimeSpan.FromSeconds(refillSeconds), time));
        });
}
