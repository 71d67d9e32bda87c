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
        builder.Services.AddSingleton<Cluster.Grains.Accounts.IAccountDeletionStep, Cluster.Grains.Accounts.AppStateDeletionStep>();
        return builder;
    }

    public static IEndpointRouteBuilder MapAppState(this IEndpointRouteBuilder v1)
    {
        AppStateEndpoints.Map(v1);
        return v1;
    }
}
