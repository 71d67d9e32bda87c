using System.Data.Common;
using System.Diagnostics.Metrics;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Cluster.Bench;

/// <summary>A fresh, migrated database for one scenario: a new SQLite file, or a new PostgreSQL database.</summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly string? adminConnectionString;
    private readonly string? postgresName;
    private readonly string? sqlitePath;

    private BenchDatabase(StorageKind kind, string connectionString, SqliteFileDataSource? sqlite, string? adminConnectionString, string? postgresName, string? sqlitePath)
    {
        Kind = kind;
        ConnectionString = connectionString;
        Sqlite = sqlite;
        this.adminConnectionString = adminConnectionString;
        this.postgresName = postgresName;
        this.sqlitePath = sqlitePath;
    }

    public StorageKind Kind { get; }

    public string StoreName => Kind == StorageKind.Sqlite ? "sqlite" : "postgresql";

    public string ConnectionString { get; }

    public SqliteFileDataSource? Sqlite { get; }

    public static async Task<BenchDatabase> CreateAsync(StorageKind kind, BenchOptions options, string sqliteDirectory)
    {
        BenchDatabase database;
        if (kind == StorageKind.Sqlite)
        {
            var path = Path.Combine(sqliteDirectory, $"bench-{Guid.NewGuid():N}.db");
            database = new BenchDatabase(
                kind,
                SqliteConnectionStrings.ForFile(path),
                new SqliteFileDataSource(path, options.SqliteSynchronous),
                null,
                null,
                path);
        }
        else
        {
            var name = $"bench_{Guid.NewGuid():N}";
            await ExecuteAsync(options.Postgres!, $"CREATE DATABASE {name}");
            var connectionString = new NpgsqlConnectionStringBuilder(options.Postgres) { Database = name }.ConnectionString;
            database = new BenchDatabase(kind, connectionString, null, options.Postgres, name, null);
        }

        await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, CancellationToken.None);
        return database;
    }

    public IInboxStore CreateStore(BenchOptions options, IMeterFactory meterFactory)
    {
        var storeOptions = new InboxStoreOptions { MaxBatchRows = options.MaxBatchRows, PostgresWriters = options.PostgresWriters };
        return Kind == StorageKind.Sqlite
            ? new SqliteInboxStore(Sqlite!, storeOptions, meterFactory)
            : new PostgresInboxStore(ConnectionString, storeOptions, meterFactory);
    }

    public async ValueTask DisposeAsync()
    {
        if (Sqlite is not null)
        {
            await Sqlite.DisposeAsync();
            using (var connection = new SqliteConnection(ConnectionString))
            {
                SqliteConnection.ClearPool(connection);
            }

            foreach (var file in new[] { sqlitePath!, sqlitePath + "-wal", sqlitePath + "-shm" })
            {
                File.Delete(file);
            }
        }

        if (postgresName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(adminConnectionString!, $"DROP DATABASE IF EXISTS {postgresName} WITH (FORCE)");
        }
    }

    /// <summary>The server's version string, for the report.</summary>
    public static async Task<string> VersionAsync(StorageKind kind, BenchOptions options)
    {
        if (kind == StorageKind.Sqlite)
        {
            await using var connection = new SqliteConnection("Data Source=:memory:");
            await connection.OpenAsync();
            return "SQLite " + connection.ServerVersion;
        }

        await using var postgres = new NpgsqlConnection(options.Postgres);
        await postgres.OpenAsync();
        return "PostgreSQL " + postgres.ServerVersion;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using DbCommand command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
