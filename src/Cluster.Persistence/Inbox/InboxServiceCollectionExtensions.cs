using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Persistence.Inbox;

/// <summary>Registers the inbox store of the configured database.</summary>
public static class InboxServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IInboxStore"/>, <see cref="ISendReceiptStore"/> and <see cref="IGroupBodyStore"/> as one singleton: a
    /// <see cref="SqliteInboxStore"/> or a <see cref="PostgresInboxStore"/>. The container disposes it asynchronously (the host does), which commits
    /// what is queued and stops its writers. It takes the <c>Cluster</c> meter from the container's
    /// <see cref="IMeterFactory"/> when there is one. The database must be migrated before the first write.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="kind">The database engine.</param>
    /// <param name="connectionString">
    /// PostgreSQL: the Npgsql connection string. SQLite: used only when <paramref name="sqlite"/> is null, for its
    /// <c>Data Source</c> (the file).
    /// </param>
    /// <param name="sqlite">SQLite: the file's data source, shared with Orleans' providers. Ignored for PostgreSQL.</param>
    /// <param name="options">Batch limits and writer count; default <see cref="InboxStoreOptions"/>.</param>
    public static IServiceCollection AddInboxStore(
        this IServiceCollection services,
        StorageKind kind,
        string connectionString,
        SqliteFileDataSource? sqlite = null,
        InboxStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        options ??= new InboxStoreOptions();
        options.Validate();
        switch (kind)
        {
            case StorageKind.Sqlite:
                var dataSource = sqlite ?? new SqliteFileDataSource(DataSourceOf(connectionString));
                services.AddSingleton(provider => new SqliteInboxStore(dataSource, options, provider.GetService<IMeterFactory>()));
                services.AddSingleton<IInboxStore>(provider => provider.GetRequiredService<SqliteInboxStore>());
                services.AddSingleton<ISendReceiptStore>(provider => provider.GetRequiredService<SqliteInboxStore>());
                services.AddSingleton<IGroupBodyStore>(provider => provider.GetRequiredService<SqliteInboxStore>());
                break;
            case StorageKind.PostgreSql:
                ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
                services.AddSingleton(provider => new PostgresInboxStore(connectionString, options, provider.GetService<IMeterFactory>()));
                services.AddSingleton<IInboxStore>(provider => provider.GetRequiredService<PostgresInboxStore>());
                services.AddSingleton<ISendReceiptStore>(provider => provider.GetRequiredService<PostgresInboxStore>());
                services.AddSingleton<IGroupBodyStore>(provider => provider.GetRequiredService<PostgresInboxStore>());
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown storage kind.");
        }

        return services;
    }

    private static string DataSourceOf(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var path = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("The SQLite connection string names no Data Source (file).", nameof(connectionString));
        }

        return path;
    }
}
