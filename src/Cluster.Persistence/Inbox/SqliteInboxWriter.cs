using System.Data;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// The single writer of a SQLite inbox: one connection, kept open, with its statements prepared once and reused
/// for every batch.
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
    private readonly HashSet<InboxKey> affected = [];
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
                parameters[(i * 5) + 0].Value = row.Device;
                parameters[(i * 5) + 1].Value = row.Sequence;
                parameters[(i * 5) + 2].Value = row.Id;
                parameters[(i * 5) + 3].Value = row.ExpiresAt;
                parameters[(i * 5) + 4].Value = row.Envelope;
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
                    + "(SELECT seq FROM inbox WHERE device = @device ORDER BY seq LIMIT @count);",
                    ("@device", SqliteType.Text), ("@count", SqliteType.Integer));
                command.Parameters[0].Value = request.Device;
                command.Parameters[1].Value = request.Count;
                break;
            case InboxOperation.Purge:
                command = purge ??= CreateCommand("DELETE FROM inbox WHERE device = @device;", ("@device", SqliteType.Text));
                command.Parameters[0].Value = request.Device;
                break;
            case InboxOperation.DeleteExpired:
                command = deleteExpired ??= CreateCommand(
                    "DELETE FROM inbox WHERE (device, seq) IN "
                    + "(SELECT device, seq FROM inbox WHERE expires_at < @now ORDER BY expires_at LIMIT @limit);",
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

    /// <summary>Runs an insert or delete that returns the (device, id) of each row it really inserted or deleted.</summary>
    private void ReadAffected(SqliteCommand command)
    {
        command.Transaction = transaction;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            affected.Add(new InboxKey(reader.GetString(0), reader.GetGuid(1)));
        }
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
        deleteOldest = purge = deleteExpired = null;
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
        var sql = new StringBuilder("INSERT INTO inbox (device, seq, id, expires_at, envelope) VALUES ");
        var parameters = new (string, SqliteType)[rows * 5];
        for (var i = 0; i < rows; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ",")}(@d{i},@s{i},@i{i},@e{i},@v{i})");
            parameters[(i * 5) + 0] = ($"@d{i}", SqliteType.Text);
            parameters[(i * 5) + 1] = ($"@s{i}", SqliteType.Integer);
            parameters[(i * 5) + 2] = ($"@i{i}", SqliteType.Blob);
            parameters[(i * 5) + 3] = ($"@e{i}", SqliteType.Integer);
            parameters[(i * 5) + 4] = ($"@v{i}", SqliteType.Blob);
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

        // The rows that really went, so that each caller's ack counts only what it deleted.
        sql.Append(" RETURNING device, id;");
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
