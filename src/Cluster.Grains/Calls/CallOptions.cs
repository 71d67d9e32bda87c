using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Calls;

/// <summary>Call limits and timeouts; section <c>Calls</c>.</summary>
public sealed class CallOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Calls";

    /// <summary>How long a call rings unanswered before it ends with <c>timeout</c>. Default: 60 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RingTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The largest <c>payload</c> (offer, answer or ICE), in bytes (decoded). Default: 65536 (64 KiB).</summary>
    [Range(1, 1024 * 1024)]
    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// How long an ended call is remembered, so that acting on it answers 409 <c>call_ended</c>; after that its id is
    /// unknown (404). Default: 1 hour.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan EndedRetention { get; set; } = TimeSpan.FromHours(1);
}
