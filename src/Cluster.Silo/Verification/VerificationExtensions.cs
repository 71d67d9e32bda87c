using Cluster.Grains.Verification;

namespace Cluster.Silo.Verification;

/// <summary>The verification feature's one wiring point: its options, the configured sender, the code endpoint.</summary>
internal static class VerificationExtensions
{
    public static WebApplicationBuilder AddVerification(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<VerificationOptions>().BindConfiguration(VerificationOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<VerificationSenderOptions>, VerificationSenderOptionsValidator>();
        builder.Services.AddOptions<VerificationSenderOptions>().BindConfiguration(VerificationSenderOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHttpClient(WebhookVerificationSender.ClientName);
        builder.Services.AddSingleton<DevelopmentVerificationSender>();
        builder.Services.AddSingleton<WebhookVerificationSender>();
        builder.Services.AddSingleton<IVerificationSender>(services =>
            services.GetRequiredService<IOptions<VerificationSenderOptions>>().Value.Kind == "Webhook"
                ? services.GetRequiredService<WebhookVerificationSender>()
                : services.GetRequiredService<DevelopmentVerificationSender>());
        return builder;
    }

    public static IEndpointRouteBuilder MapVerification(this IEndpointRouteBuilder v1)
    {
        VerificationEndpoints.Map(v1);
        return v1;
    }
}
