using Npgsql;
using NpgsqlTypes;
using static Cluster.Persistence.PostgresParameters;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// One writer loop of a PostgreSQL inbox: a connection of its own, kept open; each batch is one transaction whose
/// statements go to the server in one round trip (an <see cref="NpgsqlBatch"/>), with a row set passed as arrays
/// and expanded by <c>unnest</c>, so one statement inserts or deletes any number of rows.
/// </summary>
/// <remarks>
/// Group bodies: the writers commit in parallel, so a transaction cannot see what another one is deleting. The bodies
/// whose rows a batch deleted, or that it sealed, are collected after its commit, in a statement of their own: whichever
/// transaction deletes a sealed body's last row (or seals it last) commits before its collecting statement starts, and
/// that statement sees every earlier commit, so the last one always finds the body unreferenced and deletes it. The
/// collecting statements lock the bodies they delete in id order, so two writers' never deadlock.
/// </remarks>
internal sealed class PostgresInboxWriter : InboxWriter
{
    // Every statement of a batch returns (device, id, group, body): group is the statement group a row counts for
    // (-1: none), body the body a deleted row referred to.
    private const string InsertSql =
        "INSERT INTO inbox (device, seq, id, expires_at, envelope, body_id, body_at) "
        + "SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::bigint[], $5::bytea[], $6::uuid[], $7::integer[]) "
        + "ON CONFLICT (device, id) DO NOTHING RETURNING device, id, $8::integer, NULL::uuid";

    // The rows that really went, tagged with their statement group, so that each caller's ack counts only what it deleted.
    private const string DeleteSql =
        "DELETE FROM inbox AS i USING unnest($1::text[], $2::uuid[]) AS k (device, id) "
        + "WHERE i.device = k.device AND i.id = k.id RETURNING i.device, i.id, $3::integer, i.body_id";

    private const string InsertReceiptsSql =
        "INSERT INTO send_receipts (sender, destination, client_message_id, needs_sync, expires_at) "
        + "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[]) "
        + "ON CONFLICT (sender, destination, client_message_id) DO UPDATE SET needs_sync = excluded.needs_sync, "
        + "expires_at = excluded.expires_at WHERE excluded.expires_at > send_receipts.expires_at";

    private const string DeleteOldestSql =
        "DELETE FROM inbox WHERE device = $1 AND seq IN (SELECT seq FROM inbox WHERE device = $1 ORDER BY seq LIMIT $2) "
        + "RETURNING NULL::text, NULL::uuid, -1, body_id";

    private const string PurgeSql = "DELETE FROM inbox WHERE device = $1 RETURNING NULL::text, NULL::uuid, -1, body_id";

    private const string StoreBodySql =
        "INSERT INTO group_bodies (id, expires_at, sealed, content) VALUES ($1, $2, false, $3) "
        + "ON CONFLICT (id) DO UPDATE SET sealed = false, expires_at = greatest(group_bodies.expires_at, excluded.expires_at)";

    private const string SealBodySql = "UPDATE group_bodies SET sealed = true WHERE id = $1";

    private const string CollectBodiesSql =
        "DELETE FROM group_bodies WHERE id IN (SELECT id FROM group_bodies WHERE id = ANY($1) AND sealed ORDER BY id FOR UPDATE) "
        + "AND NOT EXISTS (SELECT 1 FROM inbox WHERE inbox.body_id = group_bodies.id)";

    private readonly NpgsqlDataSource dataSource;
    private readonly List<(InboxRequest Request, NpgsqlBatchCommand Command)> barriers = [];
    private readonly List<IReadOnlyList<InboxRequest>> groups = [];
    private readonly List<HashSet<InboxKey>> affectedByGroup = [];

    // The bodies the open batch deleted rows of, or sealed: filled while it runs, collected after its commit by CommitAsync.
    private readonly HashSet<Guid> released = [];
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
        command.Parameters.Add(Column(rows, static row => row.Body?.Id, NpgsqlDbType.Uuid));
        command.Parameters.Add(Column(rows, static row => row.Body?.Offset, NpgsqlDbType.Integer));
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
            case InboxOperation.StoreBody:
                command = new NpgsqlBatchCommand(StoreBodySql);
                command.Parameters.Add(Uuid(request.Body!.Id));
                command.Parameters.Add(Bigint(request.Body.ExpiresAt));
                command.Parameters.Add(Bytea(request.Body.Content));
                break;
            case InboxOperation.SealBody:
                command = new NpgsqlBatchCommand(SealBodySql);
                command.Parameters.Add(Uuid(request.BodyId));
                released.Add(request.BodyId);
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
        if (released.Count > 0)
        {
            await CollectBodiesAsync();
        }
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

        released.Clear();
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

    /// <summary>
    /// Deletes the released bodies no row refers to any more, after the commit that released them (see the remarks).
    /// The rows' deletes are durable already, so a failure here faults no caller: the body sweep deletes what it left.
    /// </summary>
    private async Task CollectBodiesAsync()
    {
        try
        {
            await using var command = new NpgsqlCommand(CollectBodiesSql, connection);
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. released], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            await DisposeConnectionAsync();
        }
        finally
        {
            released.Clear();
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
                if (!reader.IsDBNull(3))
                {
                    released.Add(reader.GetGuid(3));
                }

                var group = reader.GetInt32(2);
                if (group < 0)
                {
                    continue;
                }

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
