using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Persistence.Blobs;

/// <summary>Registers the blob store of the configured database.</summary>
public static class BlobServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IBlobStore"/> as a singleton: a <see cref="SqliteBlobStore"/> on <paramref name="sqlite"/>,
    /// or a <see cref="PostgresBlobStore"/> on <paramref name="connectionString"/>. The database must be migrated
    /// before the first write.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="kind">The database engine.</param>
    /// <param name="connectionString">PostgreSQL: the Npgsql connection string. Ignored for SQLite.</param>
    /// <param name="sqlite">SQLite: the file's data source, shared with the rest of the silo. Required for SQLite.</param>
    public static IServiceCollection AddBlobStore(
        this IServiceCollection services, StorageKind kind, string connectionString, SqliteFileDataSource? sqlite = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        switch (kind)
        {
            case StorageKind.Sqlite:
                ArgumentNullException.ThrowIfNull(sqlite);
                services.AddSingleton<IBlobStore>(_ => new SqliteBlobStore(sqlite));
                break;
            case StorageKind.PostgreSql:
                ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
                services.AddSingleton<IBlobStore>(_ => new PostgresBlobStore(connectionString));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown storage kind.");
        }

        return services;
    }
}
