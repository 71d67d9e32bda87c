using Cluster.Grains.Accounts;
using Cluster.Persistence.AppState;
using Cluster.Silo.Hosting;

namespace Cluster.Silo.AppState;

/// <summary>The app state feature's one wiring point: its limits, its store and its endpoints.</summary>
internal static class AppStateExtensions
{
    public static WebApplicationBuilder AddAppState(this WebApplicationBuilder builder, DatabaseEndpoint database)
    {
        builder.Services.AddOptions<AppStateOptions>().BindConfiguration(AppStateOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddAppStateStore(database.Kind, database.ConnectionString, database.SqliteDataSource);
        // Account deletion: every collection, snapshot and patch of the account.
        builder.Services.AddAccountDeletionStep<IAppStateStore>((store, account, cancel) => store.DeleteAccountAsync(account, cancel));
        return builder;
    }

    public static IEndpointRouteBuilder MapAppState(this IEndpointRouteBuilder v1)
    {
        AppStateEndpoints.Map(v1);
        return v1;
    }
}
