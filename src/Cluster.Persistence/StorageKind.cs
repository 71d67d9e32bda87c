namespace Cluster.Persistence;

/// <summary>The database engines the project's schema is written for.</summary>
public enum StorageKind
{
    /// <summary>One SQLite file: the embedded, single-silo default.</summary>
    Sqlite,

    /// <summary>PostgreSQL: the cluster mode.</summary>
    PostgreSql,
}
