using System.Diagnostics;
using Cluster.Grains.Observability;
using Microsoft.AspNetCore.Http.Features;

namespace Cluster.Silo.Observability;

/// <summary>
/// Makes every HTTP request start a trace of the silo's own (<see cref="TracingOptions.TrustIncomingTraceContext"/>
/// off): removes the trace context headers a client sent before anything reads them. It has to be here, where the
/// request's <see cref="HttpContext"/> is made: ASP.NET Core's hosting starts the request's activity from those headers
/// (parent, sampled flag, baggage) before the first middleware runs, and OpenTelemetry's instrumentation reads them
/// again to make a sibling span; a propagator would not do, because Orleans' grain call filters resolve the same
/// <see cref="DistributedContextPropagator"/> service to carry the context between silos, which must keep working (and
/// does: it never goes through HTTP). Holds nothing per request; counts each request it strips
/// (<see cref="ClusterMetrics.TraceContextIgnored"/>).
/// </summary>
internal sealed class UntrustedTraceContext : IHttpContextFactory
{
    /// <summary>The W3C headers and the legacy ones .NET's propagators also read.</summary>
    private static readonly string[] KnownHeaders = ["traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context"];

    private readonly DefaultHttpContextFactory inner;

    private readonly string[] headers;

    public UntrustedTraceContext(IServiceProvider services)
    {
        inner = new DefaultHttpContextFactory(services);
        var hosting = services.GetService<DistributedContextPropagator>()?.Fields ?? [];
        headers = [.. KnownHeaders.Union(hosting, StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>The factory the silo uses: the plain one when the incoming context is trusted.</summary>
    public static IHttpContextFactory Create(IServiceProvider services) =>
        services.GetRequiredService<IOptions<TracingOptions>>().Value.TrustIncomingTraceContext
            ? new DefaultHttpContextFactory(services)
            : new UntrustedTraceContext(services);

    public HttpContext Create(IFeatureCollection featureCollection)
    {
        if (featureCollection.Get<IHttpRequestFeature>()?.Headers is { } requestHeaders)
        {
            var removed = false;
            foreach (var header in headers)
            {
                removed |= requestHeaders.Remove(header);
            }

            if (removed)
            {
                ClusterMetrics.TraceContextIgnored.Add(1);
            }
        }

        return inner.Create(featureCollection);
    }

    public void Dispose(HttpContext httpContext) => inner.Dispose(httpContext);
}
