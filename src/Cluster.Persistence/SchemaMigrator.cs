using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Cluster.Persistence;

/// <summary>
/// Applies the project's schema scripts (embedded under <c>Migrations/</c>) to a SQLite or
/// PostgreSQL database, in version order, recording each in a <c>schema_migrations</c> table.
/// </summary>
/// <remarks>
/// Each script runs in one transaction with its <c>schema_migrations</c> row, so a script is
/// either applied and recorded or not applied at all. Running again applies only what is new.
/// Concurrent runs are serialised (an advisory lock on PostgreSQL, <c>BEGIN IMMEDIATE</c> on
/// SQLite), and each run re-checks a version under the lock, so no version is applied twice.
/// A recorded script whose checksum differs from the embedded one stops the run. Versions recorded
/// but not embedded (a newer build migrated the database) are left alone, so an older silo can
/// still start during a rolling upgrade.
/// </remarks>
public static class SchemaMigrator
{
    // The key of the PostgreSQL advisory lock that serialises migrators ("ClusterM" in ASCII).
    // orleans_write_grain_state (0001_orleans.sql) locks with the two-integer form: a separate key space.
    private const long PostgreSqlLockKey = 0x436C75737465724D;

    /// <summary>Brings the database up to the newest embedded schema version.</summary>
    /// <param name="kind">The database engine.</param>
    /// <param name="connectionString">
    /// A connection string with the right to create tables. SQLite: a file (created if missing),
    /// e.g. from <see cref="SqliteConnectionStrings.ForFile"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the run; the script in progress is rolled back.</param>
    /// <returns>The scripts applied by this run and those found applied before.</returns>
    /// <exception cref="InvalidOperationException">
    /// A recorded script's checksum differs from the embedded one, or a script failed (it was rolled back).
    /// </exception>
    public static async Task<MigrationReport> MigrateAsync(
        StorageKind kind, string connectionString, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var scripts = MigrationScript.Load(kind);

        await using var connection = CreateConnection(kind, connectionString);
        await connection.OpenAsync(cancellationToken);
        if (kind == StorageKind.Sqlite)
        {
            // The journal mode is stored in the file; it cannot be changed inside a transaction.
            await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);
        }

        var applied = new List<string>();
        var alreadyApplied = new List<string>();
        foreach (var script in scripts)
        {
            var list = await ApplyAsync(kind, connection, script, cancellationToken) ? applied : alreadyApplied;
            list.Add(script.Name);
        }

        return new MigrationReport(applied, alreadyApplied);
    }

    /// <summary>The embedded migrations the database has not applied yet (all of them when it has none).</summary>
    /// <param name="kind">The database engine.</param>
    /// <param name="connectionString">A connection string that can read the database.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    public static async Task<IReadOnlyList<string>> GetPendingAsync(
        StorageKind kind, string connectionString, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        await using var connection = CreateConnection(kind, connectionString);
        await connection.OpenAsync(cancellationToken);
        var applied = new HashSet<long>();
        try
        {
            await using var command = CreateCommand(connection, null, "SELECT version FROM schema_migrations;");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        catch (DbException)
        {
            // No history table: nothing was ever applied.
        }

        return MigrationScript.Load(kind).Where(s => !applied.Contains(s.Version)).Select(s => s.Name).ToList();
    }

    private static DbConnection CreateConnection(StorageKind kind, string connectionString) => kind switch
    {
        StorageKind.Sqlite => new SqliteConnection(connectionString),
        StorageKind.PostgreSql => new NpgsqlConnection(connectionString),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown storage kind."),
    };

    /// <returns><see langword="true"/> if this call applied the script.</returns>
    private static async Task<bool> ApplyAsync(
        StorageKind kind, DbConnection connection, MigrationScript script, CancellationToken cancellationToken)
    {
        await using var transaction = await BeginLockedTransactionAsync(connection, cancellationToken);
        await ExecuteAsync(connection, transaction, HistoryTableSql(kind), cancellationToken);

        var recordedChecksum = await ReadChecksumAsync(connection, transaction, script.Version, cancellationToken);
        if (recordedChecksum is not null)
        {
            await transaction.RollbackAsync(cancellationToken);
            if (recordedChecksum != script.Checksum)
            {
                throw new InvalidOperationException(
                    $"Migration {script.Name} (version {script.Version}) was applied with checksum {recordedChecksum}, "
                    + $"but the embedded script's checksum is {script.Checksum}. An applied migration must not change: "
                    + "restore its text and put the change in a new migration.");
            }

            return false;
        }

        try
        {
            await ExecuteAsync(connection, transaction, script.Sql, cancellationToken);
        }
        catch (DbException ex)
        {
            throw new InvalidOperationException(
                $"Migration {script.Name} (version {script.Version}) failed and was rolled back: {ex.Message}", ex);
        }

        await RecordAsync(connection, transaction, script, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task<DbTransaction> BeginLockedTransactionAsync(
        DbConnection connection, CancellationToken cancellationToken)
    {
        if (connection is SqliteConnection sqlite)
        {
            // IMMEDIATE takes the database's write lock now, so a second migrator waits here.
            return sqlite.BeginTransaction(deferred: false);
        }

        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await using var command = CreateCommand(connection, transaction, "SELECT pg_advisory_xact_lock(@key);");
            AddParameter(command, "key", PostgreSqlLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync();
            throw;
        }
    }

    private static string HistoryTableSql(StorageKind kind) => kind == StorageKind.Sqlite
        ? """
          CREATE TABLE IF NOT EXISTS schema_migrations
          (
            version INTEGER NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
          ) STRICT;
          """
        : """
          CREATE TABLE IF NOT EXISTS schema_migrations
          (
            version integer NOT NULL PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
          );
          """;

    private static async Task<string?> ReadChecksumAsync(
        DbConnection connection, DbTransaction transaction, int version, CancellationToken cancellationToken)
    {
        await using var command = CreateCommand(
            connection, transaction, "SELECT checksum FROM schema_migrations WHERE version = @version;");
        AddParameter(command, "version", version);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    private static async Task RecordAsync(
        DbConnection connection, DbTransaction transaction, MigrationScript script, CancellationToken cancellationToken)
    {
        await using var command = CreateCommand(
            connection,
            transaction,
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum);");
        AddParameter(command, "version", script.Version);
        AddParameter(command, "name", script.Name);
        AddParameter(command, "checksum", script.Checksum);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(
        DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = CreateCommand(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbCommand CreateCommand(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static void AddParameter<T>(DbCommand command, string name, T value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
