using Cluster.Persistence.Inbox;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Cluster.Silo.Observability;

/// <summary>
/// OpenTelemetry tracing, on only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter's own settings,
/// <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>, ..., apply as the OpenTelemetry spec says):
/// the HTTP request (ASP.NET Core), the grain calls it makes (Orleans' activity propagation, across silos), the inbox
/// commit that stores a send (<see cref="InboxTracing"/>) and PostgreSQL commands (Npgsql), exported over OTLP with
/// <c>service.name</c> (<c>OTEL_SERVICE_NAME</c>, default <c>cluster-silo</c>) and <c>service.instance.id</c> (the host
/// name and process id). No span carries content, keys or passwords: <see cref="SpanScrubber"/> removes the request
/// path (it holds account ids; the route template stays), the query and the grain ids Orleans tags.
/// </summary>
internal static class TracingExtensions
{
    /// <summary>The setting (an environment variable in practice) whose presence turns tracing on.</summary>
    public const string EndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string DefaultServiceName = "cluster-silo";

    /// <summary>Orleans' activity sources: grain calls as the caller and the callee see them.</summary>
    private static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public static WebApplicationBuilder AddClusterTracing(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration[EndpointSetting]))
        {
            return builder;
        }

        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : DefaultServiceName;
        builder.UseOrleans(silo => silo.AddActivityPropagation());
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceInstanceId: $"{Environment.MachineName}:{Environment.ProcessId}"))
            .WithTracing(tracing => tracing
                .AddSource(OrleansSources)
                .AddSource(InboxTracing.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
                .AddNpgsql()
                .AddProcessor(new SpanScrubber())
                .AddOtlpExporter());
        return builder;
    }
}

/// <summary>Removes the tags that could name an account or device, or carry a secret, before a span is exported.</summary>
internal sealed class SpanScrubber : BaseProcessor<System.Diagnostics.Activity>
{
    private static readonly string[] Removed =
        ["url.path", "url.query", "url.full", "http.target", "http.url", "orleans.rpc.target_id", "orleans.rpc.source_id", "db.query.text", "db.statement"];

    public override void OnEnd(System.Diagnostics.Activity data)
    {
        foreach (var tag in Removed)
        {
            if (data.GetTagItem(tag) is not null)
            {
                data.SetTag(tag, null);
            }
        }
    }
}
