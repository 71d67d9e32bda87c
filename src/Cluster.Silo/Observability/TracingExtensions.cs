using System.Diagnostics;
using Cluster.Persistence.Inbox;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Diagnostics;

namespace Cluster.Silo.Observability;

/// <summary>
/// OpenTelemetry tracing, on only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter's own settings,
/// <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>, ..., apply as the OpenTelemetry spec says);
/// off, nothing listens and no span is made. Traced: the <c>/v1</c> HTTP requests (ASP.NET Core; WebSocket sessions
/// are not, they last for hours), the grain calls they make with their context carried across silos (Orleans' activity
/// propagation), grain state reads and writes, the inbox commit that stores a send (<see cref="InboxTracing"/>) and
/// PostgreSQL commands made inside a traced call (Npgsql). Exported over OTLP with <c>service.name</c>
/// (<c>OTEL_SERVICE_NAME</c>, default <c>cluster-silo</c>) and <c>service.instance.id</c> (host name and process id).
/// A request's own trace context headers are ignored unless <see cref="TracingOptions.TrustIncomingTraceContext"/>
/// (<see cref="UntrustedTraceContext"/>): each request is the root of a trace the silo starts and samples.
/// No span carries content, keys, codes or passwords: <see cref="SpanScrubber"/> keeps only the tags it knows to be
/// safe. Exporters registered as <see cref="BaseExporter{T}"/> services get the same scrubbed spans (the tests' sink).
/// </summary>
internal static class TracingExtensions
{
    /// <summary>The setting (an environment variable in practice) whose presence turns tracing on.</summary>
    public const string EndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string ServiceNameSetting = "OTEL_SERVICE_NAME";

    public const string DefaultServiceName = "cluster-silo";

    public static WebApplicationBuilder AddClusterTracing(this WebApplicationBuilder builder)
    {
        // Whether tracing is on or not: hosting starts an activity per request for its logs too, and a client's ids
        // and baggage would flow from it into whatever reads Activity.Current.
        builder.Services.AddOptions<TracingOptions>().BindConfiguration(TracingOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.Replace(ServiceDescriptor.Singleton<IHttpContextFactory>(UntrustedTraceContext.Create));
        if (string.IsNullOrWhiteSpace(builder.Configuration[EndpointSetting]))
        {
            return builder;
        }

        var serviceName = builder.Configuration[ServiceNameSetting] is { Length: > 0 } name ? name : DefaultServiceName;
        var instance = $"{Environment.MachineName}:{Environment.ProcessId}";
        builder.UseOrleans(silo => silo.AddActivityPropagation());
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing
            .ConfigureResource(resource => resource.AddService(serviceName, serviceInstanceId: instance))
            // Orleans' runtime source (membership probes, directory calls) is left out: background noise, no request.
            .AddSource(ActivitySources.ApplicationGrainActivitySourceName, ActivitySources.StorageActivitySourceName, InboxTracing.SourceName)
            .AddAspNetCoreInstrumentation(o => o.Filter = IsTraced)
            .AddNpgsql()
            // The scrubber first; then the exporters registered as services and OTLP, all seeing scrubbed spans.
            .AddProcessor(services => new CompositeProcessor<Activity>(
                [new SpanScrubber(), .. services.GetServices<BaseExporter<Activity>>().Select(e => new SimpleActivityExportProcessor(e))]))
            .AddOtlpExporter());
        return builder;
    }

    private static bool IsTraced(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) && !context.WebSockets.IsWebSocketRequest;
}
