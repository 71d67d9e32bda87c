namespace Cluster.Client.Messaging;

/// <summary>How a <see cref="DeviceConnection"/> connects and reconnects.</summary>
public sealed class DeviceConnectionOptions
{
    /// <summary>The first reconnect delay's upper bound; it doubles with each failed attempt. Default 250 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The largest reconnect delay. Default 30 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one connection attempt (TCP + upgrade) may take. Default 15 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>WebSocket ping interval; a peer that does not answer within <see cref="KeepAliveTimeout"/> is treated as gone. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long to wait for a ping's answer. Default 15 s.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How many acked envelope ids to remember, to recognise re-deliveries of envelopes whose ack was lost. Default 4096 (16 windows of 256).</summary>
    public int RememberedAcks { get; init; } = 4096;

    /// <summary>
    /// The most requests (sends over the socket) under way at once; more wait for a place. Keep it at or below the
    /// server's <c>Sockets:MaxInFlightRequests</c> (16 by default), past which the server answers 429. Default 16.
    /// </summary>
    public int MaxInFlightRequests { get; init; } = 16;

    /// <summary>The clock for reconnect delays. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>An HTTP invoker to open sockets through (e.g. one shared by many devices); null for a connection of its own.</summary>
    public HttpMessageInvoker? Invoker { get; init; }
}
