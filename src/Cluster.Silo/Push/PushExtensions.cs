using Cluster.Grains.Push;

namespace Cluster.Silo.Push;

/// <summary>The push feature's one wiring point: the options, the senders, the silo's push queue and the subscription routes.</summary>
internal static class PushExtensions
{
    public static WebApplicationBuilder AddPush(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PushOptions>().BindConfiguration(PushOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<WebPushOptions>().BindConfiguration(WebPushOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IPushSender, WebPushSender>();
        builder.Services.AddSingleton<PushDispatcher>();
        builder.Services.AddSingleton<IPushDispatcher>(sp => sp.GetRequiredService<PushDispatcher>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PushDispatcher>());
        return builder;
    }

    public static IEndpointRouteBuilder MapPush(this IEndpointRouteBuilder v1)
    {
        PushEndpoints.Map(v1);
        return v1;
    }
}
