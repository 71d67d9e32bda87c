using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Accounts;

/// <summary>The rate limit on prekey bundle fetches per (requesting device, target account); section <c>Keys:FetchLimit</c>.</summary>
public sealed class KeyFetchLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Keys:FetchLimit";

    /// <summary>How many fetches may come at once. Default: 20.</summary>
    [Range(1, 100_000)]
    public int Burst { get; set; } = 20;

    /// <summary>One more fetch is allowed every this many seconds. Default: 3.</summary>
    [Range(0.001, 86_400)]
    public double RefillSeconds { get; set; } = 3;
}
