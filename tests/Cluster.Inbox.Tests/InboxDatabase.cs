using System.Data.Common;
using System.Diagnostics.Metrics;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Cluster.Testing;
using Microsoft.Data.Sqlite;

namespace Cluster.Inbox.Tests;

/// <summary>What the inbox tests do with a <see cref="TestDatabase"/>: open a store on it, hold its writers back.</summary>
public static class InboxDatabase
{
    public static IInboxStore CreateStore(this TestDatabase database, InboxStoreOptions? options = null, IMeterFactory? meterFactory = null) =>
        database.Kind == StorageKind.Sqlite
            ? new SqliteInboxStore(database.SqliteDataSource!, options, meterFactory)
            : new PostgresInboxStore(database.ConnectionString, options, meterFactory);

    /// <summary>
    /// Holds a lock on the inbox table that makes every writer wait until the returned handle is disposed, so a
    /// test can queue many calls while the writers cannot commit.
    /// </summary>
    public static async Task<IAsyncDisposable> BlockWritersAsync(this TestDatabase database)
    {
        var connection = database.CreateConnection();
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
    public TestDatabase? Database { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (kind == StorageKind.PostgreSql && !PostgresDatabase.IsConfigured)
        {
            return;
        }

        Database = await TestDatabase.CreateMigratedAsync(kind);
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
