namespace Cluster.Persistence;

/// <summary>
/// The invariant names to give Orleans' ADO.NET providers (the <c>Invariant</c> option of
/// clustering, grain storage and reminders).
/// </summary>
public static class AdoNetInvariants
{
    /// <summary>
    /// SQLite. Orleans maps this name to <c>Microsoft.Data.Sqlite.SqliteFactory</c>;
    /// "Microsoft.Data.Sqlite" itself is not a name Orleans accepts.
    /// </summary>
    public const string Sqlite = "System.Data.SQLite";

    /// <summary>PostgreSQL, served by <c>Npgsql.NpgsqlFactory</c>.</summary>
    public const string PostgreSql = "Npgsql";

    /// <summary>The invariant for <paramref name="kind"/>.</summary>
    public static string For(StorageKind kind) => kind switch
    {
        StorageKind.Sqlite => Sqlite,
        StorageKind.PostgreSql => PostgreSql,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown storage kind."),
    };
}
