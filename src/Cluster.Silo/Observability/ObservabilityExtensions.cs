using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace Cluster.Silo.Observability;

/// <summary>
/// The observability feature's one wiring point: OpenTelemetry metrics (the product's meter, Orleans', ASP.NET Core's,
/// the runtime's) exported at <c>/metrics</c> in Prometheus' conventions. Features add their own instruments under
/// <see cref="MeterName"/>.
/// </summary>
internal static class ObservabilityExtensions
{
    /// <summary>The product's own meter; instruments are added by each feature.</summary>
    public const string MeterName = Cluster.Grains.Observability.ClusterMetrics.MeterName;

    /// <summary>One per process, like the product's meter: every silo's exporter listens to every meter of the names it adds.</summary>
    private static readonly Lazy<SecondsHistograms> OrleansSeconds =
        new(() => new SecondsHistograms(PrometheusConventions.OrleansMeterName, new Meter(PrometheusConventions.OrleansSecondsMeterName)));

    public static WebApplicationBuilder AddClusterObservability(this WebApplicationBuilder builder)
    {
        _ = OrleansSeconds.Value;
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(PrometheusConventions.OrleansMeterName)
            .AddMeter(PrometheusConventions.OrleansSecondsMeterName)
            .AddMeter(MeterName)
            .AddAspNetCoreInstrumentation()
            .AddRuntimeInstrumentation()
            .AddView(PrometheusConventions.View)
            .AddPrometheusExporter());
        builder.Services.AddHostedService<MetricsAtZero>();
        return builder;
    }

    public static IEndpointRouteBuilder MapClusterMetrics(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
