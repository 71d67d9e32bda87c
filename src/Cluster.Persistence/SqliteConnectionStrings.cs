using Microsoft.Data.Sqlite;

namespace Cluster.Persistence;

/// <summary>Connection strings for the embedded SQLite database.</summary>
/// <remarks>
/// A Microsoft.Data.Sqlite connection string cannot carry PRAGMAs. What it can carry is
/// <c>Default Timeout</c>: how long a command keeps retrying while the database is busy (locked by
/// another writer), which is the busy timeout Orleans' providers get. <c>journal_mode=WAL</c> is
/// stored in the file by <see cref="SchemaMigrator"/>; <c>synchronous</c> is FULL unless changed,
/// because the bundled SQLite is built with that default for WAL databases too. To choose another
/// <c>synchronous</c> level, or to set <c>busy_timeout</c> in SQLite itself, give Orleans a
/// <see cref="SqliteFileDataSource"/> instead of a connection string.
/// </remarks>
public static class SqliteConnectionStrings
{
    /// <summary>The busy timeout used when none is given: 30 seconds.</summary>
    public static TimeSpan DefaultBusyTimeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The connection string for the database file at <paramref name="databasePath"/>: created if
    /// missing, pooled, retrying a busy database for <paramref name="busyTimeout"/>. It contains no secret.
    /// </summary>
    /// <param name="databasePath">The database file; relative paths are resolved against the current directory.</param>
    /// <param name="busyTimeout">How long to wait for another writer. Default: <see cref="DefaultBusyTimeout"/>.</param>
    public static string ForFile(string databasePath, TimeSpan? busyTimeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        var timeout = busyTimeout ?? DefaultBusyTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero, nameof(busyTimeout));

        return new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(databasePath),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = (int)Math.Ceiling(timeout.TotalSeconds),
        }.ToString();
    }
}
