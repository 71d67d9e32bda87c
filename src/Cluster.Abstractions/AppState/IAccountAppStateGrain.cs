using Orleans.Concurrency;

namespace Cluster.Abstractions.AppState;

/// <summary>
/// The account grain's part in app state sync (key: the account's E.164 number, the same activation as
/// <see cref="Accounts.IAccountGrain"/>): it alone knows the account's devices, so it tells them a collection changed.
/// The collections themselves live in their own tables, not in grain state.
/// </summary>
[Alias("IAccountAppStateGrain")]
public interface IAccountAppStateGrain : IGrainWithStringKey
{
    /// <summary>
    /// Sends <c>appStateChanged</c> (<paramref name="collection"/>, <paramref name="version"/>) to every device of the
    /// account but <paramref name="byDeviceId"/>, the uploader, if connected; an offline device learns the version from
    /// its next fetch.
    /// </summary>
    [Alias("NotifyAppStateChanged"), OneWay]
    Task NotifyAppStateChangedAsync(string collection, long version, int byDeviceId);
}
