using System.Data.Common;
using System.Globalization;
using Cluster.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Cluster.Testing;

/// <summary>
/// A fresh database of either kind, removed on dispose: a SQLite file in a temporary directory of its own, or a
/// <see cref="PostgresDatabase"/> (a PostgreSQL one skips the test when PostgreSQL is not configured).
/// </summary>
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
        SqliteDataSource = SqlitePath is null ? null : new SqliteFileDataSource(SqlitePath);
    }

    public StorageKind Kind { get; }

    public string ConnectionString { get; }

    /// <summary>The database file, for SQLite.</summary>
    public string? SqlitePath { get; }

    /// <summary>The database file with the project's PRAGMAs, for SQLite.</summary>
    public SqliteFileDataSource? SqliteDataSource { get; }

    /// <summary>A fresh, empty database.</summary>
    public static async Task<TestDatabase> CreateAsync(StorageKind kind)
    {
        if (kind == StorageKind.PostgreSql)
        {
            var postgres = await PostgresDatabase.CreateAsync();
            return new TestDatabase(kind, postgres.ConnectionString, null, postgres);
        }

        var directory = Directory.CreateTempSubdirectory("cluster-db-");
        return new TestDatabase(kind, SqliteConnectionStrings.ForFile(Path.Combine(directory.FullName, "cluster.db")), directory, null);
    }

    /// <summary>A fresh database with every migration applied.</summary>
    public static async Task<TestDatabase> CreateMigratedAsync(StorageKind kind, CancellationToken cancellationToken = default)
    {
        var database = await CreateAsync(kind);
        await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, cancellationToken);
        return database;
    }

    public DbConnection CreateConnection() => Kind == StorageKind.Sqlite
        ? SqliteDataSource!.CreateConnection()
        : new NpgsqlConnection(ConnectionString);

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

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
            rows.Add(string.Join('|', values.Select(value => value is DBNull ? "NULL" : Convert.ToString(value, CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    public async Task<long> CountAsync(string table) =>
        long.Parse((await QueryAsync($"SELECT count(*) FROM {table}"))[0], CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }

        if (sqliteDirectory is not null)
        {
            await SqliteDataSource!.DisposeAsync();
            using (var connection = new SqliteConnection(ConnectionString))
            {
                SqliteConnection.ClearPool(connection);
            }

            sqliteDirectory.Delete(recursive: true);
        }
    }
}
