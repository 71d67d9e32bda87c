using System.Data.Common;
using Cluster.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Cluster.Persistence.Tests;

/// <summary>A fresh, empty database of either kind, removed on dispose.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly DirectoryInfo? sqliteDirectory;
    private readonly PostgresDatabase? postgres;

    private TestDatabase(StorageKind kind, string connectionString, DirectoryInfo? sqliteDirectory, PostgresDatabase? postgres)
    {
        Kind = kind;
        ConnectionString = connectionString;
        this.sqliteDirectory = sqliteDirectory;
        this.postgres = postgres;
        SqlitePath = sqliteDirectory is null ? null : Path.Combine(sqliteDirectory.FullName, "cluster.db");
    }

    public StorageKind Kind { get; }

    public string ConnectionString { get; }

    /// <summary>The database file, for SQLite.</summary>
    public string? SqlitePath { get; }

    /// <summary>A fresh database; a PostgreSQL one skips the test when PostgreSQL is not configured.</summary>
    public static async Task<TestDatabase> CreateAsync(StorageKind kind)
    {
        if (kind == StorageKind.PostgreSql)
        {
            var postgres = await PostgresDatabase.CreateAsync();
            return new TestDatabase(kind, postgres.ConnectionString, null, postgres);
        }

        var directory = Directory.CreateTempSubdirectory("cluster-persistence-");
        var path = Path.Combine(directory.FullName, "cluster.db");
        return new TestDatabase(kind, SqliteConnectionStrings.ForFile(path), directory, null);
    }

    public DbConnection CreateConnection() => Kind == StorageKind.Sqlite
        ? new SqliteConnection(ConnectionString)
        : new NpgsqlConnection(ConnectionString);

    /// <summary>Runs a query and returns each row as its values joined by '|'.</summary>
    public async Task<IReadOnlyList<string>> QueryAsync(string sql)
    {
        await using var connection = CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(string.Join('|', values.Select(value => value is DBNull ? "NULL" : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    public async Task<long> CountAsync(string table) =>
        long.Parse((await QueryAsync($"SELECT count(*) FROM {table}"))[0], System.Globalization.CultureInfo.InvariantCulture);

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Everything a migration could change: the schema objects with their definitions, the stored
    /// Orleans queries and the migration history (including when each was applied).
    /// </summary>
    public async Task<IReadOnlyList<string>> DumpAsync()
    {
        var schema = Kind == StorageKind.Sqlite
            ? await QueryAsync("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
            : await QueryAsync("""
                SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
                  || ' ' || coalesce(column_default, '')
                FROM information_schema.columns WHERE table_schema = 'public'
                UNION ALL
                SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
                UNION ALL
                SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                UNION ALL
                SELECT 'function ' || pg_get_functiondef(oid)
                FROM pg_proc WHERE pronamespace = 'public'::regnamespace
                ORDER BY 1
                """);
        var queries = await QueryAsync("SELECT QueryKey, QueryText FROM OrleansQuery ORDER BY QueryKey");
        var history = await QueryAsync("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version");
        return [.. schema, .. queries, .. history];
    }

    public async ValueTask DisposeAsync()
    {
        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }

        if (sqliteDirectory is not null)
        {
            using (var connection = new SqliteConnection(ConnectionString))
            {
                SqliteConnection.ClearPool(connection);
            }

            sqliteDirectory.Delete(recursive: true);
        }
    }
}
