using Microsoft.Data.Sqlite;

namespace Cluster.Persistence.Blobs;

/// <summary>
/// Blobs in the embedded SQLite file (tables <c>blobs</c> and <c>blob_chunks</c>, migrations <c>0003_blobs</c> and
/// <c>0005_blob_owners</c>). Each
/// chunk commits on its own, so the file's write lock is held for one chunk at a time, never while a client is slow;
/// this store's writes take turns among themselves (Microsoft.Data.Sqlite's async calls block, and SQLite has one
/// writer), and take turns with the inbox's writer through the busy timeout.
/// </summary>
public sealed class SqliteBlobStore : BlobStore, IDisposable
{
    // The pending row must still be there (not swept) when a chunk lands: checked in the same write transaction.
    private const string InsertChunkSql =
        "INSERT INTO blob_chunks (blob_id, seq, data) SELECT @id, @seq, @data "
        + "WHERE EXISTS (SELECT 1 FROM blobs WHERE id = @id AND length IS NULL);";

    private const string ExpiredIds =
        "SELECT id FROM blobs WHERE expires_at <= @now ORDER BY expires_at, id LIMIT @limit";

    private const string UsageSql =
        "SELECT count(*), coalesce(sum(coalesce(length, reserved)), 0), coalesce(min(expires_at), 0) FROM blobs "
        + "WHERE owner = @owner AND expires_at > @now;";

    private readonly SqliteFileDataSource dataSource;
    private readonly SemaphoreSlim writeTurn = new(1, 1);

    /// <summary>A store on a migrated database file.</summary>
    /// <param name="dataSource">The database file, with the project's PRAGMAs.</param>
    public SqliteBlobStore(SqliteFileDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        this.dataSource = dataSource;
    }

    private protected override async Task<StoredBlob?> FindCoreAsync(string id, long now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT length, chunk_count, expires_at FROM blobs WHERE id = @id AND length IS NOT NULL AND expires_at > @now;";
        command.Parameters.AddWithValue("@id", id);
        command.Parameters.AddWithValue("@now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredBlob(id, reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2))
            : null;
    }

    private protected override async Task<int> ReadChunkCoreAsync(string id, int index, byte[] buffer, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // With the rowid selected, GetStream reads the chunk straight into the buffer (incremental blob I/O) instead of
        // materializing it as a new array.
        command.CommandText = "SELECT rowid, data FROM blob_chunks WHERE blob_id = @id AND seq = @seq;";
        command.Parameters.AddWithValue("@id", id);
        command.Parameters.AddWithValue("@seq", index);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return -1;
        }

        await using var chunk = reader.GetStream(1);
        return await CopyChunkAsync(chunk, index, buffer, cancellationToken);
    }

    private protected override async Task<int> DeleteExpiredCoreAsync(long now, int limit, CancellationToken cancellationToken)
    {
        await writeTurn.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
            // IMMEDIATE: both statements see the same expired set, and no upload commits between them.
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var chunks = connection.CreateCommand();
            chunks.CommandText = $"DELETE FROM blob_chunks WHERE blob_id IN ({ExpiredIds});";
            chunks.Parameters.AddWithValue("@now", now);
            chunks.Parameters.AddWithValue("@limit", limit);
            await chunks.ExecuteNonQueryAsync(cancellationToken);
            await using var blobs = connection.CreateCommand();
            blobs.CommandText = $"DELETE FROM blobs WHERE id IN ({ExpiredIds});";
            blobs.Parameters.AddWithValue("@now", now);
            blobs.Parameters.AddWithValue("@limit", limit);
            var deleted = await blobs.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return deleted;
        }
        finally
        {
            writeTurn.Release();
        }
    }

    private protected override async Task<int> DeleteOwnedCoreAsync(string owner, CancellationToken cancellationToken)
    {
        await writeTurn.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var chunks = connection.CreateCommand();
            chunks.CommandText = "DELETE FROM blob_chunks WHERE blob_id IN (SELECT id FROM blobs WHERE owner = @owner);";
            chunks.Parameters.AddWithValue("@owner", owner);
            await chunks.ExecuteNonQueryAsync(cancellationToken);
            await using var blobs = connection.CreateCommand();
            blobs.CommandText = "DELETE FROM blobs WHERE owner = @owner;";
            blobs.Parameters.AddWithValue("@owner", owner);
            var deleted = await blobs.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return deleted;
        }
        finally
        {
            writeTurn.Release();
        }
    }

    /// <summary>Releases the write turn's semaphore; connections are pooled by Microsoft.Data.Sqlite.</summary>
    public void Dispose() => writeTurn.Dispose();

    private protected override async Task<BlobReservation> InsertPendingAsync(BlobWrite write, CancellationToken cancellationToken)
    {
        // The write turn makes the usage read and the insert one step for every upload of this file's silo (embedded
        // mode has one silo), and IMMEDIATE keeps any other writer of the file out between them.
        await writeTurn.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            var usage = new BlobUsage(0, 0, 0);
            if (write is { Owner: { } owner, Quota: not null })
            {
                await using var read = connection.CreateCommand();
                read.CommandText = UsageSql;
                read.Parameters.AddWithValue("@owner", owner);
                read.Parameters.AddWithValue("@now", write.Now);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                usage = new BlobUsage(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
            }

            var reservation = Reserve(write, usage);
            if (reservation.Refused is null)
            {
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO blobs (id, expires_at, owner, reserved) VALUES (@id, @expires, @owner, @reserved);";
                insert.Parameters.AddWithValue("@id", write.Id);
                insert.Parameters.AddWithValue("@expires", write.AbandonAt);
                insert.Parameters.AddWithValue("@owner", (object?)write.Owner ?? DBNull.Value);
                insert.Parameters.AddWithValue("@reserved", reservation.MaxLength);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return reservation;
        }
        finally
        {
            writeTurn.Release();
        }
    }

    private protected override async Task<bool> InsertChunkAsync(string id, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        // Microsoft.Data.Sqlite binds whole arrays only: a full chunk goes as the pooled buffer itself, only the last,
        // shorter one is copied.
        var bytes = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment)
            && segment.Offset == 0 && segment.Count == segment.Array!.Length
                ? segment.Array
                : data.ToArray();
        return await WriteAsync(
            InsertChunkSql,
            command =>
            {
                command.Parameters.AddWithValue("@id", id);
                command.Parameters.AddWithValue("@seq", index);
                command.Parameters.Add("@data", SqliteType.Blob).Value = bytes;
            },
            cancellationToken) == 1;
    }

    private protected override async Task<bool> CompleteAsync(string id, long expiresAt, long length, int chunkCount, CancellationToken cancellationToken) =>
        await WriteAsync(
            "UPDATE blobs SET expires_at = @expires, length = @length, chunk_count = @chunks WHERE id = @id AND length IS NULL;",
            command =>
            {
                command.Parameters.AddWithValue("@id", id);
                command.Parameters.AddWithValue("@expires", expiresAt);
                command.Parameters.AddWithValue("@length", length);
                command.Parameters.AddWithValue("@chunks", chunkCount);
            },
            cancellationToken) == 1;

    private protected override async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        await writeTurn.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM blob_chunks WHERE blob_id = @id; DELETE FROM blobs WHERE id = @id;";
            command.Parameters.AddWithValue("@id", id);
            await command.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            writeTurn.Release();
        }
    }

    private async Task<int> WriteAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await writeTurn.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            bind(command);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            writeTurn.Release();
        }
    }
}
