namespace Cluster.Silo.Observability;

/// <summary>Whose trace context an HTTP request may continue; section <c>Tracing</c>.</summary>
public sealed class TracingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Tracing";

    /// <summary>
    /// Whether an HTTP request (a WebSocket upgrade included) continues the W3C trace context it arrives with: its
    /// <c>traceparent</c> (trace id, parent span and the sampled flag), <c>tracestate</c> and <c>baggage</c>. Turn it
    /// on only when every request reaches the silo through a proxy or gateway that sets these headers itself and drops
    /// the ones clients send. Default: false, the headers (and the legacy <c>Request-Id</c> and
    /// <c>Correlation-Context</c>) are removed before anything reads them, so every request starts a new trace whose id
    /// and sampling the silo chooses, with no baggage; a client can neither join, pollute nor hide from a trace.
    /// Grain calls between silos carry their context either way.
    /// </summary>
    public bool TrustIncomingTraceContext { get; set; }
}
