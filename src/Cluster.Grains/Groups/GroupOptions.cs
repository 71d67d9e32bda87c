using System.ComponentModel.DataAnnotations;

namespace Cluster.Grains.Groups;

/// <summary>Group limits; section <c>Groups</c>.</summary>
public sealed class GroupOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Groups";

    /// <summary>The most members a group may have (WhatsApp's limit). Default: 1024.</summary>
    [Range(2, 100_000)]
    public int MaxMembers { get; set; } = 1024;

    /// <summary>The largest encrypted group-info blob, in bytes (decoded). Default: 65536 (64 KiB).</summary>
    [Range(1, 1024 * 1024)]
    public int MaxInfoBytes { get; set; } = 64 * 1024;
}
