using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Requests devices make over their sockets instead of HTTP (the silo's Messaging/SocketRequests).</summary>
public static partial class ClusterMetrics
{
    /// <summary>
    /// Requests answered over device sockets, by <c>type</c> (the request type, <c>unknown</c> for any other) and
    /// <c>status</c> (the status of the response, e.g. <c>200</c>, <c>429</c> past <c>Sockets:MaxInFlightRequests</c>, or
    /// <c>invalid_frame</c> for a request frame refused with an error frame because it had no usable id).
    /// </summary>
    public static readonly Counter<long> SocketRequests = Meter.CreateCounter<long>(
        "cluster_socket_requests_total", description: "Requests answered over device sockets, by type and status");
}
