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

    /// <summary>
    /// The most groups one account may be in; creating or adding past it is refused (409 <c>too_many_groups</c>). Checked
    /// before the join, so concurrent joins to different groups may pass it by a few. Default: 512.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxGroupsPerAccount { get; set; } = 512;
}
