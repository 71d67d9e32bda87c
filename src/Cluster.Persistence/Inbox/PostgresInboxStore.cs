using System.Diagnostics.Metrics;
using Npgsql;
using static Cluster.Persistence.PostgresParameters;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// The inbox in PostgreSQL (table <c>inbox</c>, created by migration <c>0002_inbox</c>). Writes go through
/// <see cref="InboxStoreOptions.PostgresWriters"/> writer loops, each committing its own batches in parallel; a
/// device always maps to the same loop, so its writes commit in the order they were made. Reads and
/// <see cref="InboxStore.DeleteExpiredAsync"/> use pooled connections. The idempotency receipts (table <c>send_receipts</c>) commit
/// in the same writers' batches, a sender always on the same writer; so do the group bodies (table <c>group_bodies</c>,
/// migration <c>0007_group_bodies</c>), a body always on the same writer.
/// </summary>
public sealed class PostgresInboxStore : InboxStore
{
    // A group copy whose body is gone is left out: only an expiry takes a body while a row refers to it.
    private const string ReadSql =
        "SELECT i.seq, i.id, i.expires_at, i.envelope, i.body_id, i.body_at, b.content FROM inbox AS i "
        + "LEFT JOIN group_bodies AS b ON b.id = i.body_id "
        + "WHERE i.device = $1 AND i.seq > $2 AND i.expires_at >= $3 AND (i.body_id IS NULL OR b.id IS NOT NULL) "
        + "ORDER BY i.seq LIMIT $4";

    private const string MaxSequenceSql = "SELECT coalesce(max(seq), 0) FROM inbox WHERE device = $1";

    private const string CountSql = "SELECT count(*) FROM inbox WHERE device = $1";

    // SKIP LOCKED: the sweep never waits for (or deadlocks with) a writer deleting the same rows.
    private const string DeleteExpiredSql =
        "DELETE FROM inbox WHERE (device, seq) IN "
        + "(SELECT device, seq FROM inbox WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)";

    // Sealed with no row: the silo stopped between the last row's delete and the body's collection. SKIP LOCKED: a
    // body being stored again (a retry, which unseals it) is left to its writer.
    private const string DeleteExpiredBodiesSql =
        "DELETE FROM group_bodies WHERE id IN (SELECT b.id FROM group_bodies AS b WHERE b.expires_at < $1 "
        + "OR (b.sealed AND NOT EXISTS (SELECT 1 FROM inbox AS i WHERE i.body_id = b.id)) ORDER BY b.id LIMIT $2 FOR UPDATE SKIP LOCKED)";

    private const string FindReceiptSql =
        "SELECT needs_sync, expires_at FROM send_receipts "
        + "WHERE sender = $1 AND destination = $2 AND client_message_id = $3 AND expires_at > $4";

    private const string DeleteExpiredReceiptsSql =
        "DELETE FROM send_receipts WHERE (sender, destination, client_message_id) IN "
        + "(SELECT sender, destination, client_message_id FROM send_receipts WHERE expires_at <= $1 "
        + "ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)";

    private readonly NpgsqlDataSource dataSource;
    private readonly PostgresInboxWriter[] writers;

    /// <summary>Starts the store's writer loops on a migrated database.</summary>
    /// <param name="connectionString">
    /// An Npgsql connection string. Unless it sets <c>Max Auto Prepare</c>, the store sets it to 32 so that its few
    /// statements are prepared once per connection.
    /// </param>
    /// <param name="options">Batch limits and writer count; default <see cref="InboxStoreOptions"/>.</param>
    /// <param name="meterFactory">Where the <c>Cluster</c> meter comes from; the process-wide meter when null.</param>
    public PostgresInboxStore(string connectionString, InboxStoreOptions? options = null, IMeterFactory? meterFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        options ??= new InboxStoreOptions();
        options.Validate();

        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        }

        dataSource = builder.Build();
        var metrics = new InboxMetrics("postgresql", meterFactory);
        writers = new PostgresInboxWriter[options.PostgresWriters];
        for (var i = 0; i < writers.Length; i++)
        {
            writers[i] = new PostgresInboxWriter(dataSource, options.MaxBatchRows, metrics);
        }
    }

    /// <summary>Commits what is queued, then stops the writer loops and closes every connection.</summary>
    public override async ValueTask DisposeAsync()
    {
        foreach (var writer in writers)
        {
            await writer.DisposeAsync();
        }

        await dataSource.DisposeAsync();
    }

    private protected override InboxWriter WriterOf(string device) => writers[WriterIndex(device)];

    private protected override Task<int> AppendCoreAsync(IReadOnlyList<InboxRow> rows, CancellationToken cancellationToken)
    {
        var writer = WriterIndex(rows[0].Device);
        for (var i = 1; i < rows.Count; i++)
        {
            if (WriterIndex(rows[i].Device) != writer)
            {
                return AppendSplitAsync(rows, cancellationToken);
            }
        }

        return InboxCalls.Enqueue(writers[writer], InboxRequest.Append(rows), this, cancellationToken);
    }

    private protected override async Task<IReadOnlyList<InboxRow>> ReadCoreAsync(
        string device, long afterSequence, int limit, long now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ReadSql);
        command.Parameters.Add(Text(device));
        command.Parameters.Add(Bigint(afterSequence));
        command.Parameters.Add(Bigint(now));
        command.Parameters.Add(Bigint(limit));
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
        await using var command = dataSource.CreateCommand(scalar == InboxScalar.MaxSequence ? MaxSequenceSql : CountSql);
        command.Parameters.Add(Text(device));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private protected override Task<int> DeleteExpiredCoreAsync(long now, int limit, CancellationToken cancellationToken) =>
        ExecuteAsync(DeleteExpiredSql, now, limit, cancellationToken);

    private protected override Task<int> DeleteExpiredBodiesCoreAsync(long now, int limit, CancellationToken cancellationToken) =>
        ExecuteAsync(DeleteExpiredBodiesSql, now, limit, cancellationToken);

    private protected override async Task<SendReceipt?> FindReceiptCoreAsync(
        string sender, string destination, string clientMessageId, long now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(FindReceiptSql);
        command.Parameters.Add(Text(sender));
        command.Parameters.Add(Text(destination));
        command.Parameters.Add(Text(clientMessageId));
        command.Parameters.Add(Bigint(now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SendReceipt(sender, destination, clientMessageId, reader.GetBoolean(0), reader.GetInt64(1))
            : null;
    }

    private protected override Task<int> DeleteExpiredReceiptsCoreAsync(long now, int limit, CancellationToken cancellationToken) =>
        ExecuteAsync(DeleteExpiredReceiptsSql, now, limit, cancellationToken);

    private protected override async Task<int> DeleteAccountReceiptsCoreAsync(string accountId, string senderPrefix, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM send_receipts WHERE destination = $1 OR starts_with(sender, $2)");
        command.Parameters.Add(Text(accountId));
        command.Parameters.Add(Text(senderPrefix));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private int WriterIndex(string device) =>
        writers.Length == 1 ? 0 : (int)((uint)device.GetHashCode() % (uint)writers.Length);

    /// <summary>Rows of devices of different writers: each writer gets its part, and the call completes when all have.</summary>
    private async Task<int> AppendSplitAsync(IReadOnlyList<InboxRow> rows, CancellationToken cancellationToken)
    {
        var parts = new List<InboxRow>?[writers.Length];
        foreach (var row in rows)
        {
            (parts[WriterIndex(row.Device)] ??= []).Add(row);
        }

        var tasks = new List<Task<int>>(writers.Length);
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i] is { } part)
            {
                tasks.Add(InboxCalls.Enqueue(writers[i], InboxRequest.Append(part), this, cancellationToken));
            }
        }

        return (await Task.WhenAll(tasks)).Sum();
    }

    /// <summary>A sweep: one statement of <c>$1</c> = now and <c>$2</c> = limit, on a pooled connection.</summary>
    private async Task<int> ExecuteAsync(string sql, long now, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(Bigint(now));
        command.Parameters.Add(Bigint(limit));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
