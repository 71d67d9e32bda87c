using Cluster.Grains.Calls;

namespace Cluster.Silo.Calls;

/// <summary>The calls feature's one wiring point.</summary>
internal static class CallsExtensions
{
    public static WebApplicationBuilder AddCalls(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CallOptions>().BindConfiguration(CallOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<CallActions>();
        return builder;
    }

    public static IEndpointRouteBuilder MapCalls(this IEndpointRouteBuilder v1)
    {
        CallEndpoints.Map(v1);
        return v1;
    }
}
