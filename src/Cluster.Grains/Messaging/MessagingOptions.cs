using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Messaging;

/// <summary>Messaging limits and retention; section <c>Messages</c>.</summary>
public sealed class MessagingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Messages";

    /// <summary>The largest <c>content</c> of one device's copy, in bytes (decoded). Default: 98304 (96 KiB).</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxContentBytes { get; set; } = 96 * 1024;

    /// <summary>How long an undelivered envelope is kept. Default: 30 days.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan InboxTimeToLive { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The most envelopes one device's queue holds; past it the oldest are dropped. Default: 100000.</summary>
    [Range(1, 100_000_000)]
    public int MaxQueueLength { get; set; } = 100_000;

    /// <summary>How long a send with a <c>clientMessageId</c> is remembered. Default: 24 hours.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How many envelopes a device may have sent but not acknowledged. Default: 256.</summary>
    [Range(1, 10_000)]
    public int MaxUnacked { get; set; } = 256;

    /// <summary>
    /// How many bytes of envelopes (their JSON) a device may have sent but not acknowledged; one envelope more is sent when
    /// the device is under it, so an envelope larger than this still goes out, alone. Together with
    /// <see cref="MaxUnacked"/> it bounds what a socket buffers of stored envelopes. Default: 1048576 (1 MiB).
    /// </summary>
    [Range(16 * 1024, 1024 * 1024 * 1024)]
    public int MaxUnackedBytes { get; set; } = 1024 * 1024;

    /// <summary>How often each silo deletes expired envelopes. Default: 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromMinutes(10);
}
