using Cluster.Grains.Accounts;

namespace Cluster.Silo.Keys;

/// <summary>The keys feature's one wiring point: prekey upload, counts and bundles.</summary>
internal static class KeysExtensions
{
    public static WebApplicationBuilder AddKeys(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<KeyFetchLimitOptions>().BindConfiguration(KeyFetchLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }

    public static IEndpointRouteBuilder MapKeys(this IEndpointRouteBuilder v1)
    {
        KeyEndpoints.Map(v1);
        return v1;
    }
}
