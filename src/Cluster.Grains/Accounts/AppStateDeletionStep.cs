using Cluster.Persistence.AppState;

namespace Cluster.Grains.Accounts;

/// <summary>Account deletion's app state step: every collection, snapshot and patch of the account.</summary>
internal sealed class AppStateDeletionStep(IAppStateStore store) : IAccountDeletionStep
{
    public Task DeleteAccountAsync(string accountId, IReadOnlyCollection<int> deviceIds, CancellationToken cancellationToken) =>
        store.DeleteAccountAsync(accountId, cancellationToken);
}
