using System.Data;
using Npgsql;
using NpgsqlTypes;
using static Cluster.Persistence.PostgresParameters;

namespace Cluster.Persistence.AppState;

/// <summary>
/// App state in PostgreSQL (tables <c>app_state_*</c>, migration <c>0006_app_state</c>). A write transaction locks the
/// collection's head row (<c>FOR UPDATE</c>) before it reads it, so the writes of one collection take turns across every
/// silo; two first uploads of a new collection (no row to lock yet) meet at the head's primary key, and the loser is
/// answered as a conflict. Reads run REPEATABLE READ: one snapshot of the database for the head, snapshot and patches.
/// </summary>
public sealed class PostgresAppStateStore : AppStateStore, IAsyncDisposable
{
    private const string UniqueViolation = "23505";

    private readonly NpgsqlDataSource dataSource;

    /// <summary>A store on a migrated database.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    public PostgresAppStateStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <summary>Closes every pooled connection.</summary>
    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private protected override async Task<CollectionTransaction> BeginAsync(string accountId, string collection, bool write, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(write ? IsolationLevel.ReadCommitted : IsolationLevel.RepeatableRead, cancellationToken);
            return new Transaction(connection, transaction, accountId, collection, write);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private protected override bool IsDuplicateKey(Exception exception) =>
        exception is PostgresException { SqlState: UniqueViolation };

    private protected override async Task<IReadOnlyList<AppStateHead>> ListCoreAsync(string accountId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT collection, version, snapshot_version, bytes FROM app_state_collections WHERE account_id = $1 ORDER BY collection");
        command.Parameters.Add(Text(accountId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadHeadRowsAsync(reader, cancellationToken);
    }

    private protected override async Task<int> DeleteAccountCoreAsync(string accountId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var deleted = 0;
        foreach (var table in (string[])["app_state_patches", "app_state_snapshots", "app_state_collections"])
        {
            await using var command = new NpgsqlCommand($"DELETE FROM {table} WHERE account_id = $1", connection, transaction);
            command.Parameters.Add(Text(accountId));
            deleted = await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    private sealed class Transaction(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string accountId, string collection, bool write)
        : CollectionTransaction
    {
        public override async Task<AppStateHead> ReadHeadAsync(CancellationToken cancellationToken)
        {
            await using var command = Command(
                "SELECT version, snapshot_version, bytes FROM app_state_collections WHERE account_id = $1 AND collection = $2"
                + (write ? " FOR UPDATE" : string.Empty));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await ReadHeadRowAsync(reader, collection, cancellationToken);
        }

        public override async Task WriteHeadAsync(AppStateHead head, bool isNew, CancellationToken cancellationToken)
        {
            await using var command = Command(isNew
                ? "INSERT INTO app_state_collections (account_id, collection, version, snapshot_version, bytes) VALUES ($1, $2, $3, $4, $5)"
                : "UPDATE app_state_collections SET version = $3, snapshot_version = $4, bytes = $5 WHERE account_id = $1 AND collection = $2");
            command.Parameters.Add(Bigint(head.Version));
            command.Parameters.Add(Bigint(head.SnapshotVersion));
            command.Parameters.Add(Bigint(head.Bytes));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        public override async Task InsertPatchAsync(long version, byte[] data, CancellationToken cancellationToken)
        {
            await using var command = Command("INSERT INTO app_state_patches (account_id, collection, version, data) VALUES ($1, $2, $3, $4)");
            command.Parameters.Add(Bigint(version));
            command.Parameters.Add(Bytes(data));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        public override async Task<long> BytesAfterAsync(long version, CancellationToken cancellationToken)
        {
            await using var command = Command(
                "SELECT coalesce(sum(length(data)), 0)::bigint FROM app_state_patches WHERE account_id = $1 AND collection = $2 AND version > $3");
            command.Parameters.Add(Bigint(version));
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }

        public override async Task ReplaceSnapshotAsync(long version, byte[] data, CancellationToken cancellationToken)
        {
            await using (var delete = Command("DELETE FROM app_state_patches WHERE account_id = $1 AND collection = $2 AND version <= $3"))
            {
                delete.Parameters.Add(Bigint(version));
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var upsert = Command(
                "INSERT INTO app_state_snapshots (account_id, collection, version, data) VALUES ($1, $2, $3, $4) "
                + "ON CONFLICT (account_id, collection) DO UPDATE SET version = excluded.version, data = excluded.data");
            upsert.Parameters.Add(Bigint(version));
            upsert.Parameters.Add(Bytes(data));
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        public override async Task<AppStateItem?> ReadSnapshotAsync(CancellationToken cancellationToken)
        {
            await using var command = Command("SELECT version, data FROM app_state_snapshots WHERE account_id = $1 AND collection = $2");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var items = await ReadItemRowsAsync(reader, cancellationToken);
            return items.Count == 0 ? null : items[0];
        }

        public override async Task<List<AppStateItem>> ReadPatchesAsync(long after, int limit, CancellationToken cancellationToken)
        {
            await using var command = Command(
                "SELECT version, data FROM app_state_patches WHERE account_id = $1 AND collection = $2 AND version > $3 ORDER BY version LIMIT $4");
            command.Parameters.Add(Bigint(after));
            command.Parameters.Add(Integer(limit));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await ReadItemRowsAsync(reader, cancellationToken);
        }

        public override Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);

        public override async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }

        private static NpgsqlParameter<byte[]> Bytes(byte[] data) => new() { TypedValue = data, NpgsqlDbType = NpgsqlDbType.Bytea };

        private NpgsqlCommand Command(string sql)
        {
            var command = new NpgsqlCommand(sql, connection, transaction);
            command.Parameters.Add(Text(accountId));
            command.Parameters.Add(Text(collection));
            return command;
        }
    }
}
