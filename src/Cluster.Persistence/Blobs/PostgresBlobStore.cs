using System.Data;
using Npgsql;
using NpgsqlTypes;
using static Cluster.Persistence.PostgresParameters;

namespace Cluster.Persistence.Blobs;

/// <summary>
/// Blobs in PostgreSQL (tables <c>blobs</c> and <c>blob_chunks</c>, migrations <c>0003_blobs</c> and
/// <c>0005_blob_owners</c>). Every statement
/// commits on its own through a pooled connection; the chunks' foreign key keeps a chunk from landing on a blob the
/// sweep has just removed, and removing a blob removes its chunks.
/// </summary>
public sealed class PostgresBlobStore : BlobStore, IAsyncDisposable
{
    // SKIP LOCKED: two silos sweeping at once, or a sweep meeting an upload's chunk insert, never wait on each other.
    private const string DeleteExpiredSql =
        "DELETE FROM blobs WHERE id IN "
        + "(SELECT id FROM blobs WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)";

    private const string ForeignKeyViolation = "23503";

    private const string UsageSql =
        "SELECT count(*), coalesce(sum(coalesce(length, reserved)), 0)::bigint, coalesce(min(expires_at), 0) FROM blobs "
        + "WHERE owner = $1 AND expires_at > $2";

    private readonly NpgsqlDataSource dataSource;

    /// <summary>A store on a migrated database.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    public PostgresBlobStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        dataSource = NpgsqlDataSource.Create(connectionString);
    }

    private protected override async Task<StoredBlob?> FindCoreAsync(string id, long now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT length, chunk_count, expires_at FROM blobs WHERE id = $1 AND length IS NOT NULL AND expires_at > $2");
        command.Parameters.Add(Text(id));
        command.Parameters.Add(Bigint(now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredBlob(id, reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2))
            : null;
    }

    private protected override async Task<int> ReadChunkCoreAsync(string id, int index, byte[] buffer, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2");
        command.Parameters.Add(Text(id));
        command.Parameters.Add(Integer(index));
        // Sequential: the chunk is copied from the socket into the caller's buffer, not buffered whole by Npgsql first.
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return -1;
        }

        await using var stream = await reader.GetStreamAsync(0, cancellationToken);
        return await CopyChunkAsync(stream, index, buffer, cancellationToken);
    }

    private protected override async Task<int> DeleteExpiredCoreAsync(long now, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(DeleteExpiredSql);
        command.Parameters.Add(Bigint(now));
        command.Parameters.Add(Bigint(limit));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private protected override async Task<int> DeleteOwnedCoreAsync(string owner, CancellationToken cancellationToken)
    {
        // The chunks go with their rows (ON DELETE CASCADE); an upload inserting a chunk meanwhile gets a foreign-key violation (Abandoned).
        await using var command = dataSource.CreateCommand("DELETE FROM blobs WHERE owner = $1");
        command.Parameters.Add(Text(owner));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Closes every pooled connection.</summary>
    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private protected override async Task<BlobReservation> InsertPendingAsync(BlobWrite write, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var usage = new BlobUsage(0, 0, 0);
        if (write is { Owner: { } owner, Quota: not null })
        {
            // One owner's uploads take turns here, across every silo, until the row is committed: two of them can
            // never both see the room that only one of them may take.
            await using (var turn = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('blobs:' || $1, 0))", connection, transaction))
            {
                turn.Parameters.Add(Text(owner));
                await turn.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var read = new NpgsqlCommand(UsageSql, connection, transaction);
            read.Parameters.Add(Text(owner));
            read.Parameters.Add(Bigint(write.Now));
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            usage = new BlobUsage(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }

        var reservation = Reserve(write, usage);
        if (reservation.Refused is null)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO blobs (id, expires_at, owner, reserved) VALUES ($1, $2, $3, $4)", connection, transaction);
            insert.Parameters.Add(Text(write.Id));
            insert.Parameters.Add(Bigint(write.AbandonAt));
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)write.Owner ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            insert.Parameters.Add(Bigint(reservation.MaxLength));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return reservation;
    }

    private protected override async Task<bool> InsertChunkAsync(string id, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)");
        command.Parameters.Add(Text(id));
        command.Parameters.Add(Integer(index));
        command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = data, NpgsqlDbType = NpgsqlDbType.Bytea });
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == ForeignKeyViolation)
        {
            return false;
        }
    }

    private protected override async Task<bool> CompleteAsync(string id, long expiresAt, long length, int chunkCount, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE blobs SET expires_at = $2, length = $3, chunk_count = $4 WHERE id = $1 AND length IS NULL");
        command.Parameters.Add(Text(id));
        command.Parameters.Add(Bigint(expiresAt));
        command.Parameters.Add(Bigint(length));
        command.Parameters.Add(Integer(chunkCount));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private protected override async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM blobs WHERE id = $1");
        command.Parameters.Add(Text(id));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
