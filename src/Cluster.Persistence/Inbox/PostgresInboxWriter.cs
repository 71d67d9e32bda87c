using Npgsql;
using NpgsqlTypes;
using static Cluster.Persistence.PostgresParameters;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// One writer loop of a PostgreSQL inbox: a connection of its own, kept open; each batch is one transaction whose
/// statements go to the server in one round trip (an <see cref="NpgsqlBatch"/>), with a row set passed as arrays
/// and expanded by <c>unnest</c>, so one statement inserts or deletes any number of rows.
/// </summary>
internal sealed class PostgresInboxWriter : InboxWriter
{
    private const string InsertSql =
        "INSERT INTO inbox (device, seq, id, expires_at, envelope) "
        + "SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::bigint[], $5::bytea[]) "
        + "ON CONFLICT (device, id) DO NOTHING RETURNING device, id, $6::integer";

    // The rows that really went, tagged with their statement group, so that each caller's ack counts only what it deleted.
    private const string DeleteSql =
        "DELETE FROM inbox AS i USING unnest($1::text[], $2::uuid[]) AS k (device, id) "
        + "WHERE i.device = k.device AND i.id = k.id RETURNING i.device, i.id, $3::integer";

    private const string InsertReceiptsSql =
        "INSERT INTO send_receipts (sender, destination, client_message_id, needs_sync, expires_at) "
        + "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[]) "
        + "ON CONFLICT (sender, destination, client_message_id) DO UPDATE SET needs_sync = excluded.needs_sync, "
        + "expires_at = excluded.expires_at WHERE excluded.expires_at > send_receipts.expires_at";

    private const string DeleteOldestSql =
        "DELETE FROM inbox WHERE device = $1 AND seq IN (SELECT seq FROM inbox WHERE device = $1 ORDER BY seq LIMIT $2)";

    private const string PurgeSql = "DELETE FROM inbox WHERE device = $1";

    private readonly NpgsqlDataSource dataSource;
    private readonly List<(InboxRequest Request, NpgsqlBatchCommand Command)> barriers = [];
    private readonly List<IReadOnlyList<InboxRequest>> groups = [];
    private readonly List<HashSet<InboxKey>> affectedByGroup = [];
    private NpgsqlConnection? connection;
    private NpgsqlTransaction? transaction;
    private NpgsqlBatch? batch;

    public PostgresInboxWriter(NpgsqlDataSource dataSource, int maxBatchRows, InboxMetrics metrics)
        : base(maxBatchRows, metrics)
    {
        this.dataSource = dataSource;
        StartOnThreadPool();
    }

    protected override async ValueTask BeginAsync()
    {
        connection ??= await dataSource.OpenConnectionAsync();
        transaction = await connection.BeginTransactionAsync();
        batch = new NpgsqlBatch(connection, transaction);
    }

    protected override ValueTask InsertAsync(List<InboxRow> rows, IReadOnlyList<InboxRequest> requests)
    {
        var command = new NpgsqlBatchCommand(InsertSql);
        command.Parameters.Add(Column(rows, static row => row.Device, NpgsqlDbType.Text));
        command.Parameters.Add(Column(rows, static row => row.Sequence, NpgsqlDbType.Bigint));
        command.Parameters.Add(Column(rows, static row => row.Id, NpgsqlDbType.Uuid));
        command.Parameters.Add(Column(rows, static row => row.ExpiresAt, NpgsqlDbType.Bigint));
        command.Parameters.Add(Column(rows, static row => row.Envelope, NpgsqlDbType.Bytea));
        AddCounted(command, requests);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask DeleteAsync(List<InboxKey> keys, IReadOnlyList<InboxRequest> requests)
    {
        var command = new NpgsqlBatchCommand(DeleteSql);
        command.Parameters.Add(Column(keys, static key => key.Device, NpgsqlDbType.Text));
        command.Parameters.Add(Column(keys, static key => key.Id, NpgsqlDbType.Uuid));
        AddCounted(command, requests);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask InsertReceiptsAsync(List<SendReceipt> receipts)
    {
        var command = new NpgsqlBatchCommand(InsertReceiptsSql);
        command.Parameters.Add(Column(receipts, static receipt => receipt.Sender, NpgsqlDbType.Text));
        command.Parameters.Add(Column(receipts, static receipt => receipt.Destination, NpgsqlDbType.Text));
        command.Parameters.Add(Column(receipts, static receipt => receipt.ClientMessageId, NpgsqlDbType.Text));
        command.Parameters.Add(Column(receipts, static receipt => receipt.NeedsSync, NpgsqlDbType.Boolean));
        command.Parameters.Add(Column(receipts, static receipt => receipt.ExpiresAt, NpgsqlDbType.Bigint));
        batch!.BatchCommands.Add(command);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask BarrierAsync(InboxRequest request)
    {
        NpgsqlBatchCommand command;
        switch (request.Operation)
        {
            case InboxOperation.DeleteOldest:
                command = new NpgsqlBatchCommand(DeleteOldestSql);
                command.Parameters.Add(Text(request.Device));
                command.Parameters.Add(Bigint(request.Count));
                break;
            case InboxOperation.Purge:
                command = new NpgsqlBatchCommand(PurgeSql);
                command.Parameters.Add(Text(request.Device));
                break;
            default:
                throw new InvalidOperationException($"{request.Operation} is not a writer operation on PostgreSQL.");
        }

        batch!.BatchCommands.Add(command);
        barriers.Add((request, command));
        return ValueTask.CompletedTask;
    }

    protected override async ValueTask CommitAsync()
    {
        if (batch!.BatchCommands.Count > 0)
        {
            await ExecuteBatchAsync();
            foreach (var (request, command) in barriers)
            {
                request.Result = command.RecordsAffected;
            }

            for (var group = 0; group < groups.Count; group++)
            {
                CountAffected(groups[group], group < affectedByGroup.Count ? affectedByGroup[group] : []);
            }
        }

        await transaction!.CommitAsync();
        await EndTransactionAsync();
    }

    protected override async ValueTask AbortAsync()
    {
        try
        {
            if (transaction is not null && connection is { State: System.Data.ConnectionState.Open })
            {
                await transaction.RollbackAsync();
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // The connection is dropped below either way.
        }

        await DisposeConnectionAsync();
    }

    protected override bool IsConstraintViolation(Exception exception) =>
        exception is PostgresException { SqlState: ['2', '3', ..] }; // class 23: integrity constraint violation

    protected override async ValueTask DisposeConnectionAsync()
    {
        await EndTransactionAsync();
        if (connection is not null)
        {
            await connection.DisposeAsync();
            connection = null;
        }
    }

    /// <summary>Adds an insert or delete whose returned rows are tagged (last parameter) with its group, the requests it counts for.</summary>
    private void AddCounted(NpgsqlBatchCommand command, IReadOnlyList<InboxRequest> requests)
    {
        command.Parameters.Add(Integer(groups.Count));
        batch!.BatchCommands.Add(command);
        groups.Add(requests);
    }

    /// <summary>Runs the batch in one round trip, collecting the keys each insert and delete really inserted or deleted.</summary>
    private async Task ExecuteBatchAsync()
    {
        await using var reader = await batch!.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                var group = reader.GetInt32(2);
                while (affectedByGroup.Count <= group)
                {
                    affectedByGroup.Add([]);
                }

                affectedByGroup[group].Add(new InboxKey(reader.GetString(0), reader.GetGuid(1)));
            }
        }
        while (await reader.NextResultAsync());
    }

    private async ValueTask EndTransactionAsync()
    {
        barriers.Clear();
        groups.Clear();
        affectedByGroup.Clear();
        if (batch is not null)
        {
            await batch.DisposeAsync();
            batch = null;
        }

        if (transaction is not null)
        {
            await transaction.DisposeAsync();
            transaction = null;
        }
    }
}
