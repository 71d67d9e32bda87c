using Microsoft.AspNetCore.Authentication;

namespace Cluster.Silo.Authentication;

/// <summary>The authentication feature's one wiring point: the device scheme, password hashing and its throttle. No endpoints.</summary>
internal static class AuthenticationExtensions
{
    public static WebApplicationBuilder AddDeviceAuthentication(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PasswordHashingOptions>().BindConfiguration(PasswordHashingOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<CredentialThrottleOptions>().BindConfiguration(CredentialThrottleOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<PasswordHashing>();
        builder.Services.AddSingleton<CredentialThrottle>();
        builder.Services.AddAuthentication(DeviceAuthentication.Scheme)
            .AddScheme<AuthenticationSchemeOptions, DeviceAuthenticationHandler>(DeviceAuthentication.Scheme, null);
        builder.Services.AddAuthorization();
        return builder;
    }
}
