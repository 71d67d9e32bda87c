using System.ComponentModel.DataAnnotations;
using Cluster.Grains.Messaging;

namespace Cluster.Silo.Messaging;

/// <summary>
/// Deadlines and buffers of device sockets; section <c>Sockets</c>. The deadlines are network timeouts and run on the
/// real clock, like Kestrel's own.
/// </summary>
public sealed class DeviceSocketOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Sockets";

    /// <summary>
    /// How long a socket the server closes (4401, 4408, 4409, 1001, 1007, 1009, 1011) waits for the client's close
    /// frame, or for its own close frame to get out, before the connection is dropped. Default: 5 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the server pings an idle socket (WebSocket ping frames). Default: 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the server waits for the pong of a ping before it drops the connection: a dead peer (a phone that lost
    /// its network, a client that stopped reading) is gone after at most <see cref="PingInterval"/> plus this. Also
    /// applies to provisioning sockets. Default: 20 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The most bytes one socket buffers for its device (frames the silo has not yet written to the connection). Past it
    /// best-effort frames (ephemeral envelopes, live events) are dropped, and make room for stored envelopes, which are
    /// never dropped: a stored envelope that finds no room closes the socket with 4408 (it stays in the inbox). At least
    /// <c>Messages:MaxUnackedBytes</c> plus twice <c>Messages:MaxContentBytes</c>, so that the envelopes a device may
    /// have unacked always fit. Default: 4194304 (4 MiB).
    /// </summary>
    [Range(64 * 1024, 1024 * 1024 * 1024)]
    public int MaxOutboundBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The most frames one socket buffers for its device, with the same rules as <see cref="MaxOutboundBytes"/>. At least
    /// <c>Messages:MaxUnacked</c> plus 16. Default: 1024.
    /// </summary>
    [Range(32, 1_000_000)]
    public int MaxOutboundFrames { get; set; } = 1024;

    /// <summary>
    /// How long a socket may stay full (from the first frame it had to drop until its buffer empties) before it is closed
    /// with 4408, so that a device that reads too slowly reconnects and gets its stored envelopes again. Default: 10 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan SlowCloseAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The most grain observers of closed sockets (device and provisioning) a silo keeps through their 30 s grace, in
    /// which late pushes still find them; past it a closed socket's observer is deleted at once, so that socket churn
    /// cannot make a silo hold them without bound. 0 deletes every one at once. Default: 10000.
    /// </summary>
    [Range(0, 10_000_000)]
    public int MaxClosedObservers { get; set; } = 10_000;

    /// <summary>
    /// The most requests (sends made over the socket instead of HTTP) one socket has under way at once; one more is
    /// answered at once with a 429 <c>rate_limited</c> response (<c>limit</c> <c>socket_requests_in_flight</c>) and
    /// nothing is done. A client waits for answers before it sends more. Default: 16.
    /// </summary>
    [Range(1, 4096)]
    public int MaxInFlightRequests { get; set; } = 16;

    /// <summary>
    /// The most bytes of request frames one socket has under way at once, with the same answer as
    /// <see cref="MaxInFlightRequests"/>; a request is always taken when none is under way, however large (up to the frame
    /// limit). With <see cref="MaxInFlightRequests"/> it bounds what a socket's requests hold in memory. Default: 2097152 (2 MiB).
    /// </summary>
    [Range(64 * 1024, 1024 * 1024 * 1024)]
    public int MaxInFlightRequestBytes { get; set; } = 2 * 1024 * 1024;
}

/// <summary>Checks the buffers against the messaging window they must hold.</summary>
internal sealed class DeviceSocketOptionsValidator(IOptions<MessagingOptions> messaging) : IValidateOptions<DeviceSocketOptions>
{
    public ValidateOptionsResult Validate(string? name, DeviceSocketOptions options)
    {
        var failures = new List<string>();
        var key = DeviceSocketOptions.SectionName;
        var window = messaging.Value;
        var neededBytes = (long)window.MaxUnackedBytes + (2L * window.MaxContentBytes);
        if (options.MaxOutboundBytes < neededBytes)
        {
            failures.Add($"{key}:MaxOutboundBytes: {options.MaxOutboundBytes} is less than {MessagingOptions.SectionName}:MaxUnackedBytes plus twice "
                + $"{MessagingOptions.SectionName}:MaxContentBytes ({neededBytes}): the envelopes a device may have unacked would not fit.");
        }

        if (options.MaxOutboundFrames < window.MaxUnacked + 16)
        {
            failures.Add($"{key}:MaxOutboundFrames: {options.MaxOutboundFrames} is less than {MessagingOptions.SectionName}:MaxUnacked plus 16 ({window.MaxUnacked + 16}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
