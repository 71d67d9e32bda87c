using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Push;

/// <summary>When device grains wake offline devices; section <c>Push</c> (the senders' settings are the silo's <c>WebPushOptions</c>).</summary>
public sealed class PushOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Push";

    /// <summary>At most one wake-up per device per this interval while it has no socket (reset when it connects). Default: 60 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan WakeInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a push service keeps a message wake-up for an unreachable device (the Web Push TTL). Default: 1 day.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "28.00:00:00")]
    public TimeSpan MessageTimeToLive { get; set; } = TimeSpan.FromDays(1);
}
