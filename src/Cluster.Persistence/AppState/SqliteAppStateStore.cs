using Microsoft.Data.Sqlite;

namespace Cluster.Persistence.AppState;

/// <summary>
/// App state in the embedded SQLite file (tables <c>app_state_*</c>, migration <c>0006_app_state</c>). A write
/// transaction is IMMEDIATE and this store's writes take turns (SQLite has one writer, and Microsoft.Data.Sqlite's
/// async calls block), so a head read and the write that depends on it are one step; reads are deferred transactions,
/// one snapshot of the file in WAL mode.
/// </summary>
public sealed class SqliteAppStateStore : AppStateStore, IDisposable
{
    private const int UniqueConstraint = 19;

    private readonly SqliteFileDataSource dataSource;
    private readonly SemaphoreSlim writeTurn = new(1, 1);

    /// <summary>A store on a migrated database file.</summary>
    /// <param name="dataSource">The database file, with the project's PRAGMAs.</param>
    public SqliteAppStateStore(SqliteFileDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        this.dataSource = dataSource;
    }

    /// <summary>Releases the write turn's semaphore; connections are pooled by Microsoft.Data.Sqlite.</summary>
    public void Dispose() => writeTurn.Dispose();

    private protected override async Task<CollectionTransaction> BeginAsync(string accountId, string collection, bool write, CancellationToken cancellationToken)
    {
        if (write)
        {
            await writeTurn.WaitAsync(cancellationToken);
        }

        SqliteConnection? connection = null;
        try
        {
            connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
            var transaction = connection.BeginTransaction(deferred: !write);
            return new Transaction(connection, transaction, accountId, collection, write ? writeTurn : null);
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            if (write)
            {
                writeTurn.Release();
            }

            throw;
        }
    }

    private protected override bool IsDuplicateKey(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: UniqueConstraint };

    private protected override async Task<IReadOnlyList<AppStateHead>> ListCoreAsync(string accountId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT collection, version, snapshot_version, bytes FROM app_state_collections WHERE account_id = @a ORDER BY collection;";
        command.Parameters.AddWithValue("@a", accountId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadHeadRowsAsync(reader, cancellationToken);
    }

    private protected override async Task<int> DeleteAccountCoreAsync(string accountId, CancellationToken cancellationToken)
    {
        await writeTurn.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var command = connection.CreateCommand();
            command.CommandText =
                "DELETE FROM app_state_patches WHERE account_id = @a; DELETE FROM app_state_snapshots WHERE account_id = @a; "
                + "DELETE FROM app_state_collections WHERE account_id = @a;";
            command.Parameters.AddWithValue("@a", accountId);
            await command.ExecuteNonQueryAsync(cancellationToken);
            await using var changes = connection.CreateCommand();
            changes.CommandText = "SELECT changes();";
            var deleted = Convert.ToInt32(await changes.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            await transaction.CommitAsync(cancellationToken);
            return deleted;
        }
        finally
        {
            writeTurn.Release();
        }
    }

    private sealed class Transaction(
        SqliteConnection connection, SqliteTransaction transaction, string accountId, string collection, SemaphoreSlim? writeTurn)
        : CollectionTransaction
    {
        public override async Task<AppStateHead> ReadHeadAsync(CancellationToken cancellationToken)
        {
            await using var command = Command("SELECT version, snapshot_version, bytes FROM app_state_collections WHERE account_id = @a AND collection = @c;");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await ReadHeadRowAsync(reader, collection, cancellationToken);
        }

        public override async Task WriteHeadAsync(AppStateHead head, bool isNew, CancellationToken cancellationToken)
        {
            await using var command = Command(isNew
                ? "INSERT INTO app_state_collections (account_id, collection, version, snapshot_version, bytes) VALUES (@a, @c, @v, @s, @b);"
                : "UPDATE app_state_collections SET version = @v, snapshot_version = @s, bytes = @b WHERE account_id = @a AND collection = @c;");
            command.Parameters.AddWithValue("@v", head.Version);
            command.Parameters.AddWithValue("@s", head.SnapshotVersion);
            command.Parameters.AddWithValue("@b", head.Bytes);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        public override async Task InsertPatchAsync(long version, byte[] data, CancellationToken cancellationToken)
        {
            await using var command = Command("INSERT INTO app_state_patches (account_id, collection, version, data) VALUES (@a, @c, @v, @d);");
            command.Parameters.AddWithValue("@v", version);
            command.Parameters.Add("@d", SqliteType.Blob).Value = data;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        public override async Task<long> BytesAfterAsync(long version, CancellationToken cancellationToken)
        {
            await using var command = Command(
                "SELECT coalesce(sum(length(data)), 0) FROM app_state_patches WHERE account_id = @a AND collection = @c AND version > @v;");
            command.Parameters.AddWithValue("@v", version);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        public override async Task ReplaceSnapshotAsync(long version, byte[] data, CancellationToken cancellationToken)
        {
            await using var command = Command(
                "DELETE FROM app_state_patches WHERE account_id = @a AND collection = @c AND version <= @v; "
                + "INSERT INTO app_state_snapshots (account_id, collection, version, data) VALUES (@a, @c, @v, @d) "
                + "ON CONFLICT (account_id, collection) DO UPDATE SET version = excluded.version, data = excluded.data;");
            command.Parameters.AddWithValue("@v", version);
            command.Parameters.Add("@d", SqliteType.Blob).Value = data;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        public override async Task<AppStateItem?> ReadSnapshotAsync(CancellationToken cancellationToken)
        {
            await using var command = Command("SELECT version, data FROM app_state_snapshots WHERE account_id = @a AND collection = @c;");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var items = await ReadItemRowsAsync(reader, cancellationToken);
            return items.Count == 0 ? null : items[0];
        }

        public override async Task<List<AppStateItem>> ReadPatchesAsync(long after, int limit, CancellationToken cancellationToken)
        {
            await using var command = Command(
                "SELECT version, data FROM app_state_patches WHERE account_id = @a AND collection = @c AND version > @v ORDER BY version LIMIT @limit;");
            command.Parameters.AddWithValue("@v", after);
            command.Parameters.AddWithValue("@limit", limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await ReadItemRowsAsync(reader, cancellationToken);
        }

        public override Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
            }
            finally
            {
                writeTurn?.Release();
            }
        }

        private SqliteCommand Command(string sql)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            command.Parameters.AddWithValue("@a", accountId);
            command.Parameters.AddWithValue("@c", collection);
            return command;
        }
    }
}
