using Cluster.Abstractions.Groups;

namespace Cluster.Grains.Groups;

/// <summary>
/// The groups one account is a member of (see <see cref="IAccountGroupsGrain"/>). Changed only by <see cref="GroupGrain"/>
/// (after its own state is written, so a crash between the two leaves a group id here that the group no longer lists:
/// <see cref="IGroupGrain.RemoveBySystemAsync"/> treats that as a no-op). Bounded by how many groups an account is in;
/// the row is deleted when the last group goes.
/// </summary>
internal sealed class AccountGroupsGrain(
    [PersistentState("accountGroups", GrainStorage.Name)] IPersistentState<AccountGroupsState> state) : Grain, IAccountGroupsGrain
{
    public async Task JoinedAsync(string groupId)
    {
        if (state.State.Groups.Add(groupId))
        {
            await state.WriteStateAsync();
        }
    }

    public async Task LeftAsync(string groupId)
    {
        if (!state.State.Groups.Remove(groupId))
        {
            return;
        }

        if (state.State.Groups.Count == 0)
        {
            // No row for an account in no group: an account that leaves its last group (or is deleted) leaves none behind.
            // The activation stays (empty and cheap) for idle collection: deactivating here would forward the calls queued
            // behind this one to a new activation, and a burst of those could be rejected (a 503 at the gateway).
            await state.ClearStateAsync();
            state.State = new AccountGroupsState();
        }
        else
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> GetGroupsAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Groups]);
}
