using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Client connections, rate limits and client faults (the silo's Hosting/, RateLimiting/ and Protocol/).</summary>
public static partial class ClusterMetrics
{
    /// <summary>The most client connections, HTTP and sockets together, this silo holds (<c>Cluster:MaxConnections</c>, or derived from its open-file limit).</summary>
    public static readonly ObservableGauge<long> ConnectionsMax = Meter.CreateObservableGauge(
        "cluster_connections_max", () => Interlocked.Read(ref connectionsMax), unit: "{connection}", description: "The most client connections this silo holds at once");

    private static long connectionsMax;

    /// <summary>Client connections closed as soon as accepted because the silo held its maximum of connections (<c>Cluster:MaxConnections</c>).</summary>
    /// <remarks>Observed, like <see cref="SocketsRefused"/>.</remarks>
    public static readonly ObservableCounter<long> ConnectionsRefused = Meter.CreateObservableCounter(
        "cluster_connections_refused_total", () => Interlocked.Read(ref connectionsRefused), description: "Client connections closed on accept because the silo held its maximum of connections");

    private static long connectionsRefused;

    /// <summary>
    /// Requests refused by a rate limit or a per-client cap (429, or 503 for a full hashing queue or provisioning-socket
    /// cap), by <c>limit</c>: the limit's name, as the refusal's body names it (e.g. <c>auth_failures_device</c>).
    /// </summary>
    public static readonly Counter<long> RateLimited = Meter.CreateCounter<long>("cluster_rate_limited_total", description: "Requests refused by a rate limit or a per-client cap, by limit");

    /// <summary>
    /// Requests that failed on the client's side, in the request's framing or the connection rather than in what it asked
    /// (label <c>fault</c>: the status answered, e.g. <c>400</c> for a malformed chunked body, <c>408</c> for a body arriving
    /// too slowly, or <c>aborted</c> for a client gone mid-request).
    /// </summary>
    public static readonly Counter<long> ClientFaults = Meter.CreateCounter<long>("cluster_client_faults_total", description: "Requests that failed on the client's side (framing, slow body, client gone), by fault");

    /// <summary>Counts a connection closed on accept (<see cref="ConnectionsRefused"/>).</summary>
    public static void ConnectionRefused() => Interlocked.Increment(ref connectionsRefused);

    /// <summary>Sets <see cref="ConnectionsMax"/> (once, when the silo starts).</summary>
    public static void SetConnectionsMax(long value) => Interlocked.Exchange(ref connectionsMax, value);
}
