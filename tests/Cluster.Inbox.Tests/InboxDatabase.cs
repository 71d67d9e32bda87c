using System.Data.Common;
using System.Diagnostics.Metrics;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Cluster.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Cluster.Inbox.Tests;

/// <summary>A fresh, migrated database of either kind for one test, removed on dispose.</summary>
public sealed class InboxDatabase : IAsyncDisposable
{
    private readonly DirectoryInfo? directory;
    private readonly PostgresDatabase? postgres;

    private InboxDatabase(StorageKind kind, string connectionString, DirectoryInfo? directory, PostgresDatabase? postgres)
    {
        Kind = kind;
        ConnectionString = connectionString;
        this.directory = directory;
        this.postgres = postgres;
        SqliteDataSource = directory is null ? null : new SqliteFileDataSource(Path.Combine(directory.FullName, "cluster.db"));
    }

    public StorageKind Kind { get; }

    public string ConnectionString { get; }

    public SqliteFileDataSource? SqliteDataSource { get; }

    /// <summary>A fresh migrated database; a PostgreSQL one skips the test when PostgreSQL is not configured.</summary>
    public static async Task<InboxDatabase> CreateAsync(StorageKind kind, CancellationToken cancellationToken = default)
    {
        InboxDatabase database;
        if (kind == StorageKind.PostgreSql)
        {
            var postgres = await PostgresDatabase.CreateAsync();
            database = new InboxDatabase(kind, postgres.ConnectionString, null, postgres);
        }
        else
        {
            var directory = Directory.CreateTempSubdirectory("cluster-inbox-");
            database = new InboxDatabase(
                kind, SqliteConnectionStrings.ForFile(Path.Combine(directory.FullName, "cluster.db")), directory, null);
        }

        await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, cancellationToken);
        return database;
    }

    public IInboxStore CreateStore(InboxStoreOptions? options = null, IMeterFactory? meterFactory = null) => Kind == StorageKind.Sqlite
        ? new SqliteInboxStore(SqliteDataSource!, options, meterFactory)
        : new PostgresInboxStore(ConnectionString, options, meterFactory);

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

    /// <summary>
    /// Holds a lock on the inbox table that makes every writer wait until the returned handle is disposed, so a
    /// test can queue many calls while the writers cannot commit.
    /// </summary>
    public async Task<IAsyncDisposable> BlockWritersAsync()
    {
        var connection = CreateConnection();
        await connection.OpenAsync();
        DbTransaction transaction;
        if (connection is SqliteConnection sqlite)
        {
            transaction = sqlite.BeginTransaction(deferred: false);
        }
        else
        {
            transaction = await connection.BeginTransactionAsync();
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "LOCK TABLE inbox IN SHARE MODE";
            await command.ExecuteNonQueryAsync();
        }

        return new WriterBlock(connection, transaction);
    }

    public async ValueTask DisposeAsync()
    {
        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }

        if (directory is not null)
        {
            await SqliteDataSource!.DisposeAsync();
            using (var connection = new SqliteConnection(ConnectionString))
            {
                SqliteConnection.ClearPool(connection);
            }

            directory.Delete(recursive: true);
        }
    }

    private sealed class WriterBlock(DbConnection connection, DbTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}

/// <summary>
/// One migrated database shared by the tests of a class (they use fresh device ids, and run one at a time). Null
/// when PostgreSQL is not configured: the tests then skip themselves.
/// </summary>
public abstract class InboxDatabaseFixture(StorageKind kind) : IAsyncLifetime
{
    public InboxDatabase? Database { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (kind == StorageKind.PostgreSql && !PostgresDatabase.IsConfigured)
        {
            return;
        }

        Database = await InboxDatabase.CreateAsync(kind);
    }

    public async ValueTask DisposeAsync()
    {
        if (Database is not null)
        {
            await Database.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

public sealed class SqliteInboxFixture() : InboxDatabaseFixture(StorageKind.Sqlite);

public sealed class PostgresInboxFixture() : InboxDatabaseFixture(StorageKind.PostgreSql);
