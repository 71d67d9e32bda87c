using Cluster.Grains.Accounts;

namespace Cluster.Silo.Accounts;

/// <summary>
/// The accounts feature's one wiring point: registration (and re-registration), the account's own device list, and the
/// registration lock (its options, section <c>Accounts</c>, and its PIN hashing gate).
/// </summary>
internal static class AccountsExtensions
{
    public static WebApplicationBuilder AddAccounts(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RegistrationLockOptions>().BindConfiguration(RegistrationLockOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<RegistrationLockHashing>();
        return builder;
    }

    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder v1)
    {
        AccountEndpoints.Map(v1);
        RegistrationLockEndpoints.Map(v1);
        return v1;
    }
}
