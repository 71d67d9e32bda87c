namespace Cluster.Grains.Groups;

/// <summary>A group's persisted state; written only by <see cref="GroupGrain"/>.</summary>
[GenerateSerializer, Alias("GroupState")]
internal sealed class GroupState
{
    /// <summary>Whether the group exists (created and not yet left by its last member).</summary>
    [Id(0)] public bool Exists { get; set; }

    /// <summary>Member account ids in the order they joined (the oldest first, which picks an heir admin).</summary>
    [Id(1)] public List<string> Members { get; set; } = [];

    /// <summary>Admin account ids; each is a member.</summary>
    [Id(2)] public List<string> Admins { get; set; } = [];

    [Id(3)] public long MembershipVersion { get; set; }

    /// <summary>The opaque encrypted info blob.</summary>
    [Id(4)] public byte[] Info { get; set; } = [];

    [Id(5)] public long InfoVersion { get; set; }
}
