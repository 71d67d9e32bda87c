using Cluster.Testing;

namespace Cluster.Persistence.Tests;

/// <summary>What the migration tests compare: a database's schema, stored queries and migration history.</summary>
internal static class SchemaDump
{
    /// <summary>
    /// Everything a migration could change: the schema objects with their definitions, the stored
    /// Orleans queries and the migration history (including when each was applied).
    /// </summary>
    public static async Task<IReadOnlyList<string>> DumpAsync(this TestDatabase database)
    {
        var schema = database.Kind == StorageKind.Sqlite
            ? await database.QueryAsync("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
            : await database.QueryAsync("""
                SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
                  || ' ' || coalesce(column_default, '')
                FROM information_schema.columns WHERE table_schema = 'public'
                UNION ALL
                SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
                UNION ALL
                SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                UNION ALL
                SELECT 'function ' || pg_get_functiondef(oid)
                FROM pg_proc WHERE pronamespace = 'public'::regnamespace
                ORDER BY 1
                """);
        var queries = await database.QueryAsync("SELECT QueryKey, QueryText FROM OrleansQuery ORDER BY QueryKey");
        var history = await database.QueryAsync("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version");
        return [.. schema, .. queries, .. history];
    }
}
