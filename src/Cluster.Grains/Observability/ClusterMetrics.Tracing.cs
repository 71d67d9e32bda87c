using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Tracing: incoming trace context the silo ignored (Cluster.Silo's Observability/UntrustedTraceContext.cs).</summary>
public static partial class ClusterMetrics
{
    /// <summary>
    /// HTTP requests that arrived with trace context headers the silo removed (<c>Tracing:TrustIncomingTraceContext</c>
    /// off). Clients seldom send them: a steady rate says a gateway that traces sits in front of a silo that does not
    /// trust it.
    /// </summary>
    public static readonly Counter<long> TraceContextIgnored = Meter.CreateCounter<long>(
        "cluster_trace_context_ignored_total", description: "HTTP requests whose incoming trace context headers were ignored");
}
