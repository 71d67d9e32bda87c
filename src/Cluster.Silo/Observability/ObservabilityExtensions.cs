using OpenTelemetry.Metrics;

namespace Cluster.Silo.Observability;

internal static class ObservabilityExtensions
{
    /// <summary>The product's own meter; instruments are added by each feature.</summary>
    public const string MeterName = Cluster.Grains.Observability.ClusterMetrics.MeterName;

    public static WebApplicationBuilder AddClusterObservability(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter("Microsoft.Orleans")
            .AddMeter(MeterName)
            .AddAspNetCoreInstrumentation()
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());
        return builder;
    }

    public static WebApplication MapClusterMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
