using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Verification;

/// <summary>
/// Number verification codes and their per-number limits; section <c>Verification</c>. The per-client-address limit on
/// requesting codes is <c>AnonymousLimits:VerificationBurst</c>; the sender is <c>Verification:Sender</c> (silo).
/// </summary>
public sealed class VerificationOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Verification";

    /// <summary>Registration needs a valid code. Default: true. Off only for closed test deployments.</summary>
    public bool Required { get; set; } = true;

    /// <summary>How long a code is valid. Default: 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Digits in a code. Default: 6.</summary>
    [Range(6, 10)]
    public int CodeDigits { get; set; } = 6;

    /// <summary>Wrong guesses that void a code (a new one must be requested). Default: 5.</summary>
    [Range(1, 100)]
    public int MaxAttemptsPerCode { get; set; } = 5;

    /// <summary>Codes a number may be sent per <see cref="Window"/>. Default: 5.</summary>
    [Range(1, 1_000_000)]
    public int MaxCodesPerNumber { get; set; } = 5;

    /// <summary>Wrong guesses a number may take per <see cref="Window"/>, over all its codes. Default: 15.</summary>
    [Range(1, 1_000_000)]
    public int MaxWrongGuessesPerNumber { get; set; } = 15;

    /// <summary>The window of the per-number limits. Default: 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Least time between two codes for one number. Default: 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromSeconds(30);
}
