using Cluster.Abstractions.Groups;
using Cluster.Grains.Accounts;

namespace Cluster.Grains.Groups;

/// <summary>
/// Account deletion's groups step: the account leaves every group it is in (<see cref="IGroupGrain.RemoveBySystemAsync"/>:
/// the other members hear <c>groupChanged</c>, a group left without an admin gets one, a group left empty ends), and its
/// <see cref="AccountGroupsGrain"/> row goes with its last group.
/// </summary>
internal sealed class GroupDeletionStep(IGrainFactory grains) : IAccountDeletionStep
{
    public async Task DeleteAccountAsync(string accountId, IReadOnlyCollection<int> deviceIds, CancellationToken cancellationToken)
    {
        foreach (var groupId in await grains.GetGrain<IAccountGroupsGrain>(accountId).GetGroupsAsync())
        {
            await grains.GetGrain<IGroupGrain>(groupId).RemoveBySystemAsync(accountId);
        }
    }
}
