using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Accounts, companion linking and device lists (AccountGrain, the account endpoints).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Accounts registered.</summary>
    public static readonly Counter<long> AccountsRegistered = Meter.CreateCounter<long>("cluster_accounts_registered_total", description: "Accounts registered");

    /// <summary>Interested accounts forgotten because an account's set was full (<c>Accounts:MaxInterestedAccounts</c>).</summary>
    public static readonly Counter<long> InterestsForgotten = Meter.CreateCounter<long>("cluster_interested_accounts_forgotten_total", description: "Interested accounts forgotten (oldest first) because a set was full");

    /// <summary>Link tokens made.</summary>
    public static readonly Counter<long> LinkTokens = Meter.CreateCounter<long>("cluster_link_tokens_total", description: "Link tokens made");

    /// <summary>Link attempts by outcome (label <c>outcome</c>).</summary>
    public static readonly Counter<long> LinkAttempts = Meter.CreateCounter<long>("cluster_link_attempts_total", description: "Companion link attempts by outcome");

    /// <summary>Device-list changes (link, unlink, new signed list).</summary>
    public static readonly Counter<long> DeviceListChanges = Meter.CreateCounter<long>("cluster_device_list_changes_total", description: "Device-list changes");

    /// <summary>Companions unlinked because their account's primary stayed away past Linking:CompanionExpiryDays.</summary>
    public static readonly Counter<long> CompanionsExpired = Meter.CreateCounter<long>("cluster_companions_expired_total", description: "Companions unlinked for an inactive primary");

    /// <summary>Interested accounts told of one device-list change.</summary>
    public static readonly Histogram<int> DeviceListFanout = Meter.CreateHistogram<int>(
        "cluster_device_list_fanout_accounts", unit: "{account}", description: "Interested accounts told of one device-list change",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [0, 1, 10, 100, 1000, 10_000, 100_000] });
}
