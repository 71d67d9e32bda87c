using Cluster.Grains.Accounts;

namespace Cluster.Silo.Devices;

/// <summary>The devices feature's one wiring point: linking, the signed device list, removal, another account's devices.</summary>
internal static class DevicesExtensions
{
    public static WebApplicationBuilder AddDevices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeviceLimitOptions>().BindConfiguration(DeviceLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<LinkingOptions>().BindConfiguration(LinkingOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder v1)
    {
        DeviceEndpoints.Map(v1);
        return v1;
    }
}
