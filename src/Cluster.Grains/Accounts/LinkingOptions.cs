using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Accounts;

/// <summary>Linking and device-list announcements; section <c>Linking</c>.</summary>
public sealed class LinkingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Linking";

    /// <summary>How long a link token is valid. Default: 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LinkTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How many unexpired link tokens an account may hold at once (the rate limit on making them). Default: 5.</summary>
    [Range(1, 1000)]
    public int MaxOutstandingLinkTokens { get; set; } = 5;

    /// <summary>How long an account stays interested in another after fetching its devices or keys or messaging it. Default: 30 days.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan InterestLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// The most accounts one account remembers as interested in it; past it, the one interested longest ago is
    /// forgotten. It bounds the account's state and the fan-out of each of its device changes. Default: 5000 (well
    /// above the contacts and group peers a person messages in a month).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxInterestedAccounts { get; set; } = 5_000;

    /// <summary>Interested accounts told of a change per batch before the fan-out yields. Default: 500.</summary>
    [Range(1, 100_000)]
    public int FanoutBatchSize { get; set; } = 500;

    /// <summary>
    /// Whole UTC days the primary may stay away (no authenticated request, no socket) before every companion of its
    /// account is unlinked, exactly as if the primary had removed it. Default: 14.
    /// </summary>
    [Range(1, 3650)]
    public int CompanionExpiryDays { get; set; } = 14;

    /// <summary>
    /// Days before that unlink when connected companions get the <c>companionsExpiring</c> event (once each per
    /// absence of the primary); 0 sends none. Default: 2.
    /// </summary>
    [Range(0, 3650)]
    public int CompanionExpiryWarningDays { get; set; } = 2;
}
