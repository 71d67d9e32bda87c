using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Persistence.AppState;

/// <summary>Registers the app state store of the configured database.</summary>
public static class AppStateServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IAppStateStore"/> as a singleton: a <see cref="SqliteAppStateStore"/> on
    /// <paramref name="sqlite"/>, or a <see cref="PostgresAppStateStore"/> on <paramref name="connectionString"/>. The
    /// database must be migrated before the first call.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="kind">The database engine.</param>
    /// <param name="connectionString">PostgreSQL: the Npgsql connection string. Ignored for SQLite.</param>
    /// <param name="sqlite">SQLite: the file's data source, shared with the rest of the silo. Required for SQLite.</param>
    public static IServiceCollection AddAppStateStore(
        this IServiceCollection services, StorageKind kind, string connectionString, SqliteFileDataSource? sqlite = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        switch (kind)
        {
            case StorageKind.Sqlite:
                ArgumentNullException.ThrowIfNull(sqlite);
                services.AddSingleton<IAppStateStore>(_ => new SqliteAppStateStore(sqlite));
                break;
            case StorageKind.PostgreSql:
                ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
                services.AddSingleton<IAppStateStore>(_ => new PostgresAppStateStore(connectionString));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown storage kind.");
        }

        return services;
    }
}
