using System.Diagnostics.Metrics;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// The inbox in the embedded SQLite file (table <c>inbox</c>, created by migration <c>0002_inbox</c>). Every write
/// goes through one writer thread with one connection (SQLite admits one writer at a time, and Microsoft.Data.Sqlite
/// blocks in its async methods); reads use pooled connections of their own, which WAL lets run beside the writer.
/// The idempotency receipts (table <c>send_receipts</c>) and the group bodies (table <c>group_bodies</c>, migration
/// <c>0007_group_bodies</c>) go through the same writer, in the same group commits.
/// </summary>
public sealed class SqliteInboxStore : InboxStore
{
    // A group copy whose body is gone is left out: only an expiry takes a body while a row refers to it.
    private const string ReadSql =
        "SELECT i.seq, i.id, i.expires_at, i.envelope, i.body_id, i.body_at, b.content FROM inbox AS i "
        + "LEFT JOIN group_bodies AS b ON b.id = i.body_id "
        + "WHERE i.device = @device AND i.seq > @after AND i.expires_at >= @now AND (i.body_id IS NULL OR b.id IS NOT NULL) "
        + "ORDER BY i.seq LIMIT @limit;";

    private const string MaxSequenceSql = "SELECT coalesce(max(seq), 0) FROM inbox WHERE device = @device;";

    private const string CountSql = "SELECT count(*) FROM inbox WHERE device = @device;";

    private const string FindReceiptSql =
        "SELECT needs_sync, expires_at FROM send_receipts "
        + "WHERE sender = @sender AND destination = @destination AND client_message_id = @key AND expires_at > @now;";

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

    /// <summary>Commits what is queued, then stops the writer thread and closes its connection.</summary>
    public override ValueTask DisposeAsync() => writer.DisposeAsync();

    private protected override InboxWriter WriterOf(string device) => writer;

    private protected override async Task<IReadOnlyList<InboxRow>> ReadCoreAsync(
        string device, long afterSequence, int limit, long now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
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
            rows.Add(GroupBodies.Read(device, reader));
        }

        return rows;
    }

    private protected override async Task<long> ScalarAsync(InboxScalar scalar, string device, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = scalar == InboxScalar.MaxSequence ? MaxSequenceSql : CountSql;
        command.Parameters.AddWithValue("@device", device);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private protected override Task<int> DeleteExpiredCoreAsync(long now, int limit, CancellationToken cancellationToken) =>
        Enqueue(string.Empty, InboxRequest.DeleteExpired(now, limit), cancellationToken);

    private protected override Task<int> DeleteExpiredBodiesCoreAsync(long now, int limit, CancellationToken cancellationToken) =>
        Enqueue(string.Empty, InboxRequest.DeleteExpiredBodies(now, limit), cancellationToken);

    private protected override async Task<SendReceipt?> FindReceiptCoreAsync(
        string sender, string destination, string clientMessageId, long now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = FindReceiptSql;
        command.Parameters.AddWithValue("@sender", sender);
        command.Parameters.AddWithValue("@destination", destination);
        command.Parameters.AddWithValue("@key", clientMessageId);
        command.Parameters.AddWithValue("@now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SendReceipt(sender, destination, clientMessageId, reader.GetInt64(0) != 0, reader.GetInt64(1))
            : null;
    }

    private protected override Task<int> DeleteExpiredReceiptsCoreAsync(long now, int limit, CancellationToken cancellationToken) =>
        Enqueue(string.Empty, InboxRequest.DeleteExpiredReceipts(now, limit), cancellationToken);

    private protected override async Task<int> DeleteAccountReceiptsCoreAsync(string accountId, string senderPrefix, CancellationToken cancellationToken)
    {
        // A pooled connection of its own: it takes turns with the writer thread through the busy timeout, as the
        // other stores of the file do. substr, not LIKE: no character of the prefix is taken as a pattern.
        await using var connection = await dataSource.OpenSqliteConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "DELETE FROM send_receipts WHERE destination = @account OR substr(sender, 1, length(@prefix)) = @prefix;";
        command.Parameters.AddWithValue("@account", accountId);
        command.Parameters.AddWithValue("@prefix", senderPrefix);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
