using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Grains.Accounts;

/// <summary>
/// One feature's part of an account deletion: removes every row the feature keeps for the account or its devices.
/// A feature registers its step in its own <c>AddX</c> (<see cref="AccountDeletionSteps.AddAccountDeletionStep{TService}"/>
/// for a one-call step, or <c>services.AddSingleton&lt;IAccountDeletionStep, MyStep&gt;()</c>); the account grain runs
/// every registered step after the devices are deleted and before the account's own state row goes. A step must be
/// idempotent: a deletion interrupted half-way is run again in full by its reminder. A step must not call the deleted
/// account's grain (it waits for the step to finish: the call would wait until it timed out).
/// </summary>
public interface IAccountDeletionStep
{
    /// <summary>Deletes the feature's data of <paramref name="accountId"/> and of its devices <paramref name="deviceIds"/>.</summary>
    Task DeleteAccountAsync(string accountId, IReadOnlyCollection<int> deviceIds, CancellationToken cancellationToken);
}

/// <summary>Registration of account deletion steps.</summary>
public static class AccountDeletionSteps
{
    /// <summary>Registers a step that is one call on a service of the container: <paramref name="delete"/>(service, account id, token).</summary>
    public static IServiceCollection AddAccountDeletionStep<TService>(this IServiceCollection services, Func<TService, string, CancellationToken, Task> delete)
        where TService : notnull
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(delete);
        return services.AddSingleton<IAccountDeletionStep>(provider => new CallStep<TService>(provider.GetRequiredService<TService>(), delete));
    }

    private sealed class CallStep<TService>(TService service, Func<TService, string, CancellationToken, Task> delete) : IAccountDeletionStep
    {
        public Task DeleteAccountAsync(string accountId, IReadOnlyCollection<int> deviceIds, CancellationToken cancellationToken) =>
            delete(service, accountId, cancellationToken);
    }
}
