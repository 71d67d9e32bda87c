using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// The inbox in the embedded SQLite file (table <c>inbox</c>, created by migration <c>0002_inbox</c>). Every write
/// goes through one writer thread with one connection (SQLite admits one writer at a time, and Microsoft.Data.Sqlite
/// blocks in its async methods); reads use pooled connections of their own, which WAL lets run beside the writer.
/// The idempotency receipts (table <c>send_receipts</c>) go through the same writer, in the same group commits.
/// </summary>
public sealed class SqliteInboxStore : IInboxStore, ISendReceiptStore, IAsyncDisposable
{
    private const string ReadSql =
        "SELECT seq, id, expires_at, envelope FROM inbox "
        + "WHERE device = @device AND seq > @after AND expires_at >= @now ORDER BY seq LIMIT @limit;";

    private readonly SqliteFileDataSource dataSource;
    private readonly SqliteInboxWriter writer;

    /// <summary>Starts the store's writer thread on a migrated database.</summary>
    /// <param name="dataSource">The database file, with the project's PRAGMAs.</param>
    /// <param name="options">Batch limits; default <see cref="InboxStoreOptions"/>.</param>
    /// <param name="meterFactory">Where the <c>Cluster</c> meter comes from; the process-wide meter when null.</param>
    public SqliteInboxStore(SqliteFileDataSource dataSource, InboxStoreOptions? options = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        options ??= new InboxStoreOptions();
        options.Validate();
        this.dataSource = dataSource;
        writer = new SqliteInboxWriter(dataSource, options.MaxBatchRows, new InboxMetrics("sqlite", meterFactory));
    }

    /// <inheritdoc />
    public Task<int> AppendAsync(IReadOnlyList<InboxRow> rows, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateRows(rows);
        return rows.Count == 0
            ? Task.FromResult(0)
            : InboxCalls.Enqueue(writer, InboxRequest.Append(rows), this, cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> DeleteAsync(string device, IReadOnlyList<Guid> ids, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        ArgumentNullException.ThrowIfNull(ids);
        return ids.Count == 0
            ? Task.FromResult(0)
            : InboxCalls.Enqueue(writer, InboxRequest.Delete(device, ids), this, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<InboxRow>> ReadAsync(
        string device, long afterSequence, int limit, long now, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return [];
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = ReadSql;
        command.Parameters.AddWithValue("@device", device);
        command.Parameters.AddWithValue("@after", afterSequence);
        command.Parameters.AddWithValue("@now", now);
        command.Parameters.AddWithValue("@limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<InboxRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new InboxRow(device, reader.GetInt64(0), reader.GetGuid(1), reader.GetInt64(2), reader.GetFieldValue<byte[]>(3)));
        }

        return rows;
    }

    /// <inheritdoc />
    public Task<long> GetMaxSequenceAsync(string device, CancellationToken cancellationToken = default) =>
        ScalarAsync("SELECT coalesce(max(seq), 0) FROM inbox WHERE device = @device;", device, cancellationToken);

    /// <inheritdoc />
    public Task<long> CountAsync(string device, CancellationToken cancellationToken = default) =>
        ScalarAsync("SELECT count(*) FROM inbox WHERE device = @device;", device, cancellationToken);

    /// <inheritdoc />
    public Task<int> DeleteOldestAsync(string device, int count, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return count == 0
            ? Task.FromResult(0)
            : InboxCalls.Enqueue(writer, InboxRequest.DeleteOldest(device, count), this, cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> PurgeAsync(string device, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        return InboxCalls.Enqueue(writer, InboxRequest.Purge(device), this, cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return limit == 0
            ? Task.FromResult(0)
            : InboxCalls.Enqueue(writer, InboxRequest.DeleteExpired(now, limit), this, cancellationToken);
    }

    /// <inheritdoc />
    public Task SaveReceiptAsync(SendReceipt receipt, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateReceipt(receipt);
        return InboxCalls.Enqueue(writer, InboxRequest.SaveReceipt(receipt), this, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<SendReceipt?> FindReceiptAsync(
        string sender, string destination, string clientMessageId, long now, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateReceiptKey(sender, destination, clientMessageId);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT needs_sync, expires_at FROM send_receipts "
            + "WHERE sender = @sender AND destination = @destination AND client_message_id = @key AND expires_at > @now;";
        command.Parameters.AddWithValue("@sender", sender);
        command.Parameters.AddWithValue("@destination", destination);
        command.Parameters.AddWithValue("@key", clientMessageId);
        command.Parameters.AddWithValue("@now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SendReceipt(sender, destination, clientMessageId, reader.GetInt64(0) != 0, reader.GetInt64(1))
            : null;
    }

    /// <inheritdoc />
    public Task<int> DeleteExpiredReceiptsAsync(long now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return limit == 0
            ? Task.FromResult(0)
            : InboxCalls.Enqueue(writer, InboxRequest.DeleteExpiredReceipts(now, limit), this, cancellationToken);
    }

    /// <summary>Commits what is queued, then stops the writer thread and closes its connection.</summary>
    public ValueTask DisposeAsync() => writer.DisposeAsync();

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)dataSource.CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task<long> ScalarAsync(string sql, string device, CancellationToken cancellationToken)
    {
        InboxCalls.ValidateDevice(device);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@device", device);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
