namespace Cluster.Grains.Accounts;

/// <summary>
/// One feature's part of an account deletion: removes every row the feature keeps for the account or its devices.
/// Register an implementation in DI (<c>services.AddSingleton&lt;IAccountDeletionStep, MyStep&gt;()</c>); the account
/// grain runs every registered step, after the devices are removed and before the account's own state is cleared.
/// A step must be idempotent: a deletion that failed half-way is run again in full by the next request.
/// </summary>
public interface IAccountDeletionStep
{
    /// <summary>Deletes the feature's data of <paramref name="accountId"/> and of its devices <paramref name="deviceIds"/>.</summary>
    Task DeleteAccountAsync(string accountId, IReadOnlyCollection<int> deviceIds, CancellationToken cancellationToken);
}
