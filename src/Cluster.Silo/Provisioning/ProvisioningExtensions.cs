namespace Cluster.Silo.Provisioning;

/// <summary>The provisioning feature's one wiring point: the new device's socket and the primary's PUT.</summary>
internal static class ProvisioningExtensions
{
    public static WebApplicationBuilder AddProvisioning(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ProvisioningOptions>().BindConfiguration(ProvisioningOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ProvisioningSockets>();
        builder.Services.AddSingleton<ProvisioningSocketCaps>();
        return builder;
    }

    public static IEndpointRouteBuilder MapProvisioning(this IEndpointRouteBuilder v1)
    {
        ProvisioningEndpoints.Map(v1);
        return v1;
    }
}
