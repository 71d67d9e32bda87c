using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Cluster.Persistence;

/// <summary>
/// Connections to one SQLite database file with the project's PRAGMAs applied. Give it to Orleans'
/// ADO.NET providers as their <c>DataSource</c> option (with <see cref="AdoNetInvariants.Sqlite"/>)
/// and use it for the project's own SQLite access.
/// </summary>
/// <remarks>
/// <c>synchronous</c> and <c>busy_timeout</c> belong to a connection, not to the file, and cannot be
/// put in a Microsoft.Data.Sqlite connection string, so they are applied each time one of these
/// connections opens, however it is opened: once per SQLite connection handle, which the pool keeps open across
/// opens and closes (running them on every open of a pooled connection cost a statement per lookup). The busy timeout is also the connection string's
/// <c>Default Timeout</c> (see <see cref="SqliteConnectionStrings.ForFile"/>).
/// </remarks>
public sealed class SqliteFileDataSource : DbDataSource
{
    // The PRAGMAs last applied to each open SQLite handle, by any data source of the process (two of one file may
    // differ): a pooled handle that comes back with other ones gets these again.
    private static readonly ConditionalWeakTable<sqlite3, string> Applied = [];

    private readonly string pragmas;

    /// <summary>Creates a data source for the database file at <paramref name="databasePath"/>.</summary>
    /// <param name="databasePath">The database file; relative paths are resolved against the current directory.</param>
    /// <param name="synchronous">The durability of a commit. Default: <see cref="SqliteSynchronous.Full"/>.</param>
    /// <param name="busyTimeout">
    /// How long to wait for another writer. Default: <see cref="SqliteConnectionStrings.DefaultBusyTimeout"/>.
    /// </param>
    public SqliteFileDataSource(
        string databasePath,
        SqliteSynchronous synchronous = SqliteSynchronous.Full,
        TimeSpan? busyTimeout = null)
    {
        if (!Enum.IsDefined(synchronous))
        {
            throw new ArgumentOutOfRangeException(nameof(synchronous), synchronous, "Unknown synchronous level.");
        }

        var timeout = busyTimeout ?? SqliteConnectionStrings.DefaultBusyTimeout;
        ConnectionString = SqliteConnectionStrings.ForFile(databasePath, timeout);
        DatabasePath = Path.GetFullPath(databasePath);
        Synchronous = synchronous;
        BusyTimeout = timeout;
        pragmas = string.Create(
            CultureInfo.InvariantCulture,
            $"PRAGMA synchronous = {(int)synchronous}; PRAGMA busy_timeout = {(long)timeout.TotalMilliseconds};");
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The <c>PRAGMA synchronous</c> level of every connection.</summary>
    public SqliteSynchronous Synchronous { get; }

    /// <summary>How long a connection waits for another writer before failing.</summary>
    public TimeSpan BusyTimeout { get; }

    /// <summary>The connection string of the file; it contains no secret.</summary>
    public override string ConnectionString { get; }

    /// <summary>Opens a connection (its PRAGMAs applied); a connection that fails to open is disposed.</summary>
    public async Task<SqliteConnection> OpenSqliteConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = (SqliteConnection)CreateConnection();
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

    /// <inheritdoc />
    protected override DbConnection CreateDbConnection()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.StateChange += ApplyPragmas;
        return connection;
    }

    private void ApplyPragmas(object sender, StateChangeEventArgs e)
    {
        if (e.CurrentState != ConnectionState.Open)
        {
            return;
        }

        var connection = (SqliteConnection)sender;
        if (connection.Handle is { } handle && Applied.TryGetValue(handle, out var applied) && string.Equals(applied, pragmas, StringComparison.Ordinal))
        {
            return;
        }

        using (var command = connection.CreateCommand())
        {
            command.CommandText = pragmas;
            command.ExecuteNonQuery();
        }

        if (connection.Handle is { } opened)
        {
            Applied.AddOrUpdate(opened, pragmas);
        }
    }
}
