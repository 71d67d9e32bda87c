namespace Cluster.Grains.Groups;

/// <summary>The group ids one account is in; written only by <see cref="AccountGroupsGrain"/>.</summary>
[GenerateSerializer, Alias("AccountGroupsState")]
internal sealed class AccountGroupsState
{
    [Id(0)] public SortedSet<string> Groups { get; set; } = new(StringComparer.Ordinal);
}
