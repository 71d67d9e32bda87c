using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Accounts;

/// <summary>Devices per account; section <c>Devices</c>.</summary>
public sealed class DeviceLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Devices";

    /// <summary>The most devices an account may have, the primary included. Default: 5 (primary + 4 companions).</summary>
    [Range(1, 100)]
    public int MaxDevicesPerAccount { get; set; } = 5;
}
