using System.Data;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// The single writer of a SQLite inbox: one connection, kept open, with its statements prepared once and reused
/// for every batch. Every write of the file's inbox and group bodies goes through it, so a transaction sees every
/// earlier one: the bodies whose rows a batch deleted (or that it sealed) are deleted in the same transaction when no
/// row refers to them any more.
/// </summary>
internal sealed class SqliteInboxWriter : InboxWriter
{
    /// <summary>Rows per multi-row statement. Microsoft.Data.Sqlite binds each parameter by name, so very wide statements cost more per row.</summary>
    internal const int RowsPerStatement = 32;

    private readonly SqliteFileDataSource dataSource;
    private readonly SqliteCommand?[] inserts = new SqliteCommand?[RowsPerStatement + 1];
    private readonly SqliteCommand?[] deletes = new SqliteCommand?[RowsPerStatement + 1];
    private readonly SqliteCommand?[] insertReceipts = new SqliteCommand?[RowsPerStatement + 1];
    private SqliteCommand? deleteExpiredReceipts;
    private SqliteCommand? deleteOldest;
    private SqliteCommand? purge;
    private SqliteCommand? deleteExpired;
    private SqliteCommand? storeBody;
    private SqliteCommand? sealBody;
    private SqliteCommand? collectBody;
    private SqliteCommand? deleteExpiredBodies;
    private readonly HashSet<InboxKey> affected = [];

    // The bodies the open transaction deleted rows of, or sealed: filled by its deletes and seals, collected and cleared by CommitAsync.
    private readonly HashSet<Guid> released = [];
    private SqliteConnection? connection;
    private SqliteTransaction? transaction;

    public SqliteInboxWriter(SqliteFileDataSource dataSource, int maxBatchRows, InboxMetrics metrics)
        : base(maxBatchRows, metrics)
    {
        this.dataSource = dataSource;
        StartOnDedicatedThread("inbox-sqlite-writer");
    }

    protected override ValueTask BeginAsync()
    {
        if (connection is null)
        {
            var connection = (SqliteConnection)dataSource.CreateConnection();
            try
            {
                connection.Open();
            }
            catch
            {
                connection.Dispose();
                throw;
            }

            this.connection = connection;
        }

        released.Clear();

        // IMMEDIATE: takes the write lock now (waiting up to the busy timeout for Orleans' own writers).
        transaction = connection.BeginTransaction(IsolationLevel.Serializable, deferred: false);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask InsertAsync(List<InboxRow> rows, IReadOnlyList<InboxRequest> requests)
    {
        affected.Clear();
        var offset = 0;
        while (offset < rows.Count)
        {
            var count = Math.Min(RowsPerStatement, rows.Count - offset);
            var command = inserts[count] ??= CreateInsert(count);
            var parameters = command.Parameters;
            for (var i = 0; i < count; i++)
            {
                var row = rows[offset + i];
                parameters[(i * 7) + 0].Value = row.Device;
                parameters[(i * 7) + 1].Value = row.Sequence;
                parameters[(i * 7) + 2].Value = row.Id;
                parameters[(i * 7) + 3].Value = row.ExpiresAt;
                parameters[(i * 7) + 4].Value = row.Envelope;
                parameters[(i * 7) + 5].Value = row.Body is { } body ? body.Id : DBNull.Value;
                parameters[(i * 7) + 6].Value = row.Body is { } at ? at.Offset : DBNull.Value;
            }

            ReadAffected(command);
            offset += count;
        }

        CountAffected(requests, affected);
        affected.Clear();
        return ValueTask.CompletedTask;
    }

    protected override ValueTask DeleteAsync(List<InboxKey> keys, IReadOnlyList<InboxRequest> requests)
    {
        affected.Clear();
        var offset = 0;
        while (offset < keys.Count)
        {
            var count = Math.Min(RowsPerStatement, keys.Count - offset);
            var command = deletes[count] ??= CreateDelete(count);
            var parameters = command.Parameters;
            for (var i = 0; i < count; i++)
            {
                var key = keys[offset + i];
                parameters[(i * 2) + 0].Value = key.Device;
                parameters[(i * 2) + 1].Value = key.Id;
            }

            ReadAffected(command);
            offset += count;
        }

        CountAffected(requests, affected);
        affected.Clear();
        return ValueTask.CompletedTask;
    }

    protected override ValueTask InsertReceiptsAsync(List<SendReceipt> receipts)
    {
        var offset = 0;
        while (offset < receipts.Count)
        {
            var count = Math.Min(RowsPerStatement, receipts.Count - offset);
            var command = insertReceipts[count] ??= CreateInsertReceipts(count);
            var parameters = command.Parameters;
            for (var i = 0; i < count; i++)
            {
                var receipt = receipts[offset + i];
                parameters[(i * 5) + 0].Value = receipt.Sender;
                parameters[(i * 5) + 1].Value = receipt.Destination;
                parameters[(i * 5) + 2].Value = receipt.ClientMessageId;
                parameters[(i * 5) + 3].Value = receipt.NeedsSync ? 1 : 0;
                parameters[(i * 5) + 4].Value = receipt.ExpiresAt;
            }

            Execute(command);
            offset += count;
        }

        return ValueTask.CompletedTask;
    }

    protected override ValueTask BarrierAsync(InboxRequest request)
    {
        SqliteCommand command;
        switch (request.Operation)
        {
            case InboxOperation.DeleteOldest:
                command = deleteOldest ??= CreateCommand(
                    "DELETE FROM inbox WHERE device = @device AND seq IN "
                    + "(SELECT seq FROM inbox WHERE device = @device ORDER BY seq LIMIT @count) RETURNING body_id;",
                    ("@device", SqliteType.Text), ("@count", SqliteType.Integer));
                command.Parameters[0].Value = request.Device;
                command.Parameters[1].Value = request.Count;
                request.Result = DeleteReleasing(command);
                return ValueTask.CompletedTask;
            case InboxOperation.Purge:
                command = purge ??= CreateCommand("DELETE FROM inbox WHERE device = @device RETURNING body_id;", ("@device", SqliteType.Text));
                command.Parameters[0].Value = request.Device;
                request.Result = DeleteReleasing(command);
                return ValueTask.CompletedTask;
            case InboxOperation.DeleteExpired:
                command = deleteExpired ??= CreateCommand(
                    "DELETE FROM inbox WHERE (device, seq) IN "
                    + "(SELECT device, seq FROM inbox WHERE expires_at < @now ORDER BY expires_at LIMIT @limit) RETURNING body_id;",
                    ("@now", SqliteType.Integer), ("@limit", SqliteType.Integer));
                command.Parameters[0].Value = request.Now;
                command.Parameters[1].Value = request.Count;
                request.Result = DeleteReleasing(command);
                return ValueTask.CompletedTask;
            case InboxOperation.StoreBody:
                command = storeBody ??= CreateCommand(
                    "INSERT INTO group_bodies (id, expires_at, sealed, content) VALUES (@id, @expires, 0, @content) "
                    + "ON CONFLICT (id) DO UPDATE SET sealed = 0, expires_at = max(expires_at, excluded.expires_at);",
                    ("@id", SqliteType.Blob), ("@expires", SqliteType.Integer), ("@content", SqliteType.Blob));
                command.Parameters[0].Value = request.Body!.Id;
                command.Parameters[1].Value = request.Body.ExpiresAt;
                command.Parameters[2].Value = request.Body.Content;
                break;
            case InboxOperation.SealBody:
                command = sealBody ??= CreateCommand("UPDATE group_bodies SET sealed = 1 WHERE id = @id;", ("@id", SqliteType.Blob));
                command.Parameters[0].Value = request.BodyId;
                released.Add(request.BodyId);
                break;
            case InboxOperation.DeleteExpiredBodies:
                // Sealed with no row: the silo stopped between the last row's delete and the body's.
                command = deleteExpiredBodies ??= CreateCommand(
                    "DELETE FROM group_bodies WHERE id IN (SELECT b.id FROM group_bodies AS b WHERE b.expires_at < @now "
                    + "OR (b.sealed = 1 AND NOT EXISTS (SELECT 1 FROM inbox AS i WHERE i.body_id = b.id)) LIMIT @limit);",
                    ("@now", SqliteType.Integer), ("@limit", SqliteType.Integer));
                command.Parameters[0].Value = request.Now;
                command.Parameters[1].Value = request.Count;
                break;
            case InboxOperation.DeleteExpiredReceipts:
                command = deleteExpiredReceipts ??= CreateCommand(
                    "DELETE FROM send_receipts WHERE rowid IN "
                    + "(SELECT rowid FROM send_receipts WHERE expires_at <= @now ORDER BY expires_at LIMIT @limit);",
                    ("@now", SqliteType.Integer), ("@limit", SqliteType.Integer));
                command.Parameters[0].Value = request.Now;
                command.Parameters[1].Value = request.Count;
                break;
            default:
                throw new InvalidOperationException($"{request.Operation} is not a barrier operation.");
        }

        request.Result = Execute(command);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask CommitAsync()
    {
        if (released.Count > 0)
        {
            var command = collectBody ??= CreateCommand(
                "DELETE FROM group_bodies WHERE id = @id AND sealed = 1 AND NOT EXISTS (SELECT 1 FROM inbox WHERE body_id = @id);",
                ("@id", SqliteType.Blob));
            foreach (var id in released)
            {
                command.Parameters[0].Value = id;
                Execute(command);
            }

            released.Clear();
        }

        transaction!.Commit();
        transaction.Dispose();
        transaction = null;
        return ValueTask.CompletedTask;
    }

    protected override ValueTask AbortAsync()
    {
        try
        {
            transaction?.Rollback();
        }
        catch (SqliteException)
        {
            // The connection is dropped below either way.
        }
        catch (InvalidOperationException)
        {
            // Already completed, or the connection is closed: nothing to roll back.
        }

        DropConnection();
        return ValueTask.CompletedTask;
    }

    protected override bool IsConstraintViolation(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 19 }; // SQLITE_CONSTRAINT

    protected override ValueTask DisposeConnectionAsync()
    {
        DropConnection();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Runs an insert or delete that returns the (device, id) of each row it really inserted or deleted, and (a delete)
    /// the body each deleted row referred to.
    /// </summary>
    private void ReadAffected(SqliteCommand command)
    {
        command.Transaction = transaction;
        using var reader = command.ExecuteReader();
        var bodies = reader.FieldCount > 2;
        while (reader.Read())
        {
            affected.Add(new InboxKey(reader.GetString(0), reader.GetGuid(1)));
            if (bodies && !reader.IsDBNull(2))
            {
                released.Add(reader.GetGuid(2));
            }
        }
    }

    /// <summary>Runs a delete that returns the body id of each row it deleted; how many rows went.</summary>
    private int DeleteReleasing(SqliteCommand command)
    {
        command.Transaction = transaction;
        using var reader = command.ExecuteReader();
        var deleted = 0;
        while (reader.Read())
        {
            deleted++;
            if (!reader.IsDBNull(0))
            {
                released.Add(reader.GetGuid(0));
            }
        }

        return deleted;
    }

    private int Execute(SqliteCommand command)
    {
        command.Transaction = transaction;
        return command.ExecuteNonQuery();
    }

    private void DropConnection()
    {
        transaction?.Dispose();
        transaction = null;
        DisposeAll(inserts);
        DisposeAll(deletes);
        DisposeAll(insertReceipts);
        deleteExpiredReceipts?.Dispose();
        deleteExpiredReceipts = null;
        deleteOldest?.Dispose();
        purge?.Dispose();
        deleteExpired?.Dispose();
        storeBody?.Dispose();
        sealBody?.Dispose();
        collectBody?.Dispose();
        deleteExpiredBodies?.Dispose();
        deleteOldest = purge = deleteExpired = storeBody = sealBody = collectBody = deleteExpiredBodies = null;
        released.Clear();
        connection?.Dispose();
        connection = null;

        static void DisposeAll(SqliteCommand?[] commands)
        {
            for (var i = 0; i < commands.Length; i++)
            {
                commands[i]?.Dispose();
                commands[i] = null;
            }
        }
    }

    private SqliteCommand CreateInsert(int rows)
    {
        var sql = new StringBuilder("INSERT INTO inbox (device, seq, id, expires_at, envelope, body_id, body_at) VALUES ");
        var parameters = new (string, SqliteType)[rows * 7];
        for (var i = 0; i < rows; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ",")}(@d{i},@s{i},@i{i},@e{i},@v{i},@b{i},@o{i})");
            parameters[(i * 7) + 0] = ($"@d{i}", SqliteType.Text);
            parameters[(i * 7) + 1] = ($"@s{i}", SqliteType.Integer);
            parameters[(i * 7) + 2] = ($"@i{i}", SqliteType.Blob);
            parameters[(i * 7) + 3] = ($"@e{i}", SqliteType.Integer);
            parameters[(i * 7) + 4] = ($"@v{i}", SqliteType.Blob);
            parameters[(i * 7) + 5] = ($"@b{i}", SqliteType.Blob);
            parameters[(i * 7) + 6] = ($"@o{i}", SqliteType.Integer);
        }

        // A sequence stored twice is an error (it would lose an envelope); an id stored twice is a retry, and is not
        // returned (each caller's append counts only the rows it stored).
        sql.Append(" ON CONFLICT (device, id) DO NOTHING RETURNING device, id;");
        return CreateCommand(sql.ToString(), parameters);
    }

    private SqliteCommand CreateInsertReceipts(int rows)
    {
        var sql = new StringBuilder("INSERT INTO send_receipts (sender, destination, client_message_id, needs_sync, expires_at) VALUES ");
        var parameters = new (string, SqliteType)[rows * 5];
        for (var i = 0; i < rows; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ",")}(@s{i},@d{i},@c{i},@n{i},@e{i})");
            parameters[(i * 5) + 0] = ($"@s{i}", SqliteType.Text);
            parameters[(i * 5) + 1] = ($"@d{i}", SqliteType.Text);
            parameters[(i * 5) + 2] = ($"@c{i}", SqliteType.Text);
            parameters[(i * 5) + 3] = ($"@n{i}", SqliteType.Integer);
            parameters[(i * 5) + 4] = ($"@e{i}", SqliteType.Integer);
        }

        sql.Append(
            " ON CONFLICT (sender, destination, client_message_id) DO UPDATE SET needs_sync = excluded.needs_sync, "
            + "expires_at = excluded.expires_at WHERE excluded.expires_at > send_receipts.expires_at;");
        return CreateCommand(sql.ToString(), parameters);
    }

    private SqliteCommand CreateDelete(int keys)
    {
        // OR of (device, id) pairs: SQLite looks each one up in the unique index ("MULTI-INDEX OR"); a row-value
        // IN (VALUES ...) would scan the table.
        var sql = new StringBuilder("DELETE FROM inbox WHERE ");
        var parameters = new (string, SqliteType)[keys * 2];
        for (var i = 0; i < keys; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : " OR ")}(device = @d{i} AND id = @i{i})");
            parameters[(i * 2) + 0] = ($"@d{i}", SqliteType.Text);
            parameters[(i * 2) + 1] = ($"@i{i}", SqliteType.Blob);
        }

        // The rows that really went, so that each caller's ack counts only what it deleted, and the bodies they referred to.
        sql.Append(" RETURNING device, id, body_id;");
        return CreateCommand(sql.ToString(), parameters);
    }

    private SqliteCommand CreateCommand(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = connection!.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        command.Transaction = transaction;
        command.Prepare();
        return command;
    }
}
