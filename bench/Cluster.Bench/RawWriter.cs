using System.Globalization;
using System.Text;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Cluster.Bench;

/// <summary>
/// The database's own limit: one writer, no queue, no callers to release: each call is one transaction that inserts a
/// batch of envelope-sized rows into the inbox table (and, in a cycle, deletes the batch the call before inserted),
/// with the same kind of statements the inbox uses.
/// </summary>
internal abstract class RawWriter : IAsyncDisposable
{
    public static async Task<RawWriter> CreateAsync(BenchDatabase database)
    {
        if (database.Kind == StorageKind.Sqlite)
        {
            var connection = (SqliteConnection)database.Sqlite!.CreateConnection();
            connection.Open();
            return new SqliteRawWriter(connection);
        }

        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxAutoPrepare = 32 };
        var postgres = new NpgsqlConnection(builder.ConnectionString);
        await postgres.OpenAsync();
        return new PostgresRawWriter(postgres);
    }

    /// <summary>One transaction: inserts <paramref name="insert"/>, deletes <paramref name="delete"/> (by device and id), commits.</summary>
    public abstract ValueTask CommitAsync(IReadOnlyList<InboxRow> insert, IReadOnlyList<InboxRow> delete);

    public abstract ValueTask DisposeAsync();

    private sealed class SqliteRawWriter(SqliteConnection connection) : RawWriter
    {
        private const int Width = 32;
        private static readonly SqliteType[] InsertTypes =
            [SqliteType.Text, SqliteType.Integer, SqliteType.Blob, SqliteType.Integer, SqliteType.Blob];

        private static readonly SqliteType[] DeleteTypes = [SqliteType.Text, SqliteType.Blob];

        private readonly Dictionary<int, SqliteCommand> inserts = [];
        private readonly Dictionary<int, SqliteCommand> deletes = [];

        public override ValueTask CommitAsync(IReadOnlyList<InboxRow> insert, IReadOnlyList<InboxRow> delete)
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            for (var offset = 0; offset < insert.Count; offset += Width)
            {
                var count = Math.Min(Width, insert.Count - offset);
                if (!inserts.TryGetValue(count, out var command))
                {
                    inserts[count] = command = Prepare(InsertSql(count), count, InsertTypes, transaction);
                }

                for (var i = 0; i < count; i++)
                {
                    var row = insert[offset + i];
                    command.Parameters[(i * 5) + 0].Value = row.Device;
                    command.Parameters[(i * 5) + 1].Value = row.Sequence;
                    command.Parameters[(i * 5) + 2].Value = row.Id;
                    command.Parameters[(i * 5) + 3].Value = row.ExpiresAt;
                    command.Parameters[(i * 5) + 4].Value = row.Envelope;
                }

                command.Transaction = transaction;
                command.ExecuteNonQuery();
            }

            for (var offset = 0; offset < delete.Count; offset += Width)
            {
                var count = Math.Min(Width, delete.Count - offset);
                if (!deletes.TryGetValue(count, out var command))
                {
                    deletes[count] = command = Prepare(DeleteSql(count), count, DeleteTypes, transaction);
                }

                for (var i = 0; i < count; i++)
                {
                    var row = delete[offset + i];
                    command.Parameters[(i * 2) + 0].Value = row.Device;
                    command.Parameters[(i * 2) + 1].Value = row.Id;
                }

                command.Transaction = transaction;
                command.ExecuteNonQuery();
            }

            transaction.Commit();
            return ValueTask.CompletedTask;
        }

        public override ValueTask DisposeAsync()
        {
            foreach (var command in inserts.Values.Concat(deletes.Values))
            {
                command.Dispose();
            }

            return connection.DisposeAsync();
        }

        private static string InsertSql(int rows)
        {
            var sql = new StringBuilder("INSERT INTO inbox (device, seq, id, expires_at, envelope) VALUES ");
            for (var i = 0; i < rows; i++)
            {
                sql.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ",")}(@p{i}_0,@p{i}_1,@p{i}_2,@p{i}_3,@p{i}_4)");
            }

            return sql.Append(" ON CONFLICT (device, id) DO NOTHING").ToString();
        }

        private static string DeleteSql(int keys)
        {
            var sql = new StringBuilder("DELETE FROM inbox WHERE ");
            for (var i = 0; i < keys; i++)
            {
                sql.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : " OR ")}(device = @p{i}_0 AND id = @p{i}_1)");
            }

            return sql.ToString();
        }

        private SqliteCommand Prepare(string sql, int rows, SqliteType[] columns, SqliteTransaction transaction)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Transaction = transaction;
            for (var i = 0; i < rows; i++)
            {
                for (var c = 0; c < columns.Length; c++)
                {
                    command.Parameters.Add(string.Create(CultureInfo.InvariantCulture, $"@p{i}_{c}"), columns[c]);
                }
            }

            command.Prepare();
            return command;
        }
    }

    private sealed class PostgresRawWriter(NpgsqlConnection connection) : RawWriter
    {
        public override async ValueTask CommitAsync(IReadOnlyList<InboxRow> insert, IReadOnlyList<InboxRow> delete)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using var batch = new NpgsqlBatch(connection, transaction);
            if (insert.Count > 0)
            {
                var command = new NpgsqlBatchCommand(
                    "INSERT INTO inbox (device, seq, id, expires_at, envelope) "
                    + "SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::bigint[], $5::bytea[]) "
                    + "ON CONFLICT (device, id) DO NOTHING");
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. insert.Select(r => r.Device)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. insert.Select(r => r.Sequence)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. insert.Select(r => r.Id)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
                command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. insert.Select(r => r.ExpiresAt)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. insert.Select(r => r.Envelope)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
                batch.BatchCommands.Add(command);
            }

            if (delete.Count > 0)
            {
                var command = new NpgsqlBatchCommand(
                    "DELETE FROM inbox AS i USING unnest($1::text[], $2::uuid[]) AS k (device, id) "
                    + "WHERE i.device = k.device AND i.id = k.id");
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. delete.Select(r => r.Device)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. delete.Select(r => r.Id)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        public override ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
