using Npgsql;
using NpgsqlTypes;

namespace Cluster.Persistence;

/// <summary>Typed Npgsql parameters (no boxing, the type stated so that prepared statements match), for every PostgreSQL class here.</summary>
internal static class PostgresParameters
{
    public static NpgsqlParameter<string> Text(string? value) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Text };

    public static NpgsqlParameter<long> Bigint(long value) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Bigint };

    public static NpgsqlParameter<int> Integer(int value) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Integer };

    public static NpgsqlParameter<Guid> Uuid(Guid value) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Uuid };

    public static NpgsqlParameter<byte[]> Bytea(byte[] value) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Bytea };

    /// <summary>One column of a batch as an array parameter (<c>unnest($1, $2, ...)</c>): <paramref name="pick"/> of each item, in order.</summary>
    public static NpgsqlParameter<T[]> Column<TItem, T>(IReadOnlyList<TItem> items, Func<TItem, T> pick, NpgsqlDbType elementType)
    {
        var values = new T[items.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = pick(items[i]);
        }

        return new NpgsqlParameter<T[]> { TypedValue = values, NpgsqlDbType = NpgsqlDbType.Array | elementType };
    }
}
