using System.Data.Common;
using System.Text;
using Cluster.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// Every table of a silo's database, found from the engine's catalogue (so a table added later is checked too), and
/// the columns whose text or bytes mention a string: what account deletion and verification expiry must leave none of.
/// </summary>
internal sealed class StoredRows(Func<DbConnection> connect, string listTables)
{
    public static StoredRows Sqlite(TestSilo silo) =>
        new(() => new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={silo.DataPath}"), "SELECT name FROM sqlite_master WHERE type = 'table'");

    public static StoredRows Postgres(string connectionString) =>
        new(() => new Npgsql.NpgsqlConnection(connectionString),
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");

    public async Task<List<string>> TablesAsync(CancellationToken cancellationToken)
    {
        await using var connection = connect();
        await connection.OpenAsync(cancellationToken);
        await using var list = connection.CreateCommand();
        list.CommandText = listTables;
        await using var reader = await list.ExecuteReaderAsync(cancellationToken);
        var tables = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }

    /// <summary>Each <c>table.column</c> (once per row) holding any of <paramref name="needles"/>, as text or as UTF-8 bytes.</summary>
    public async Task<List<string>> MentioningAsync(IReadOnlyCollection<string> needles, CancellationToken cancellationToken)
    {
        var tables = await TablesAsync(cancellationToken);
        Assert.NotEmpty(tables);
        var byteNeedles = needles.Select(Encoding.UTF8.GetBytes).ToArray();
        await using var connection = connect();
        await connection.OpenAsync(cancellationToken);
        var found = new List<string>();
        foreach (var table in tables)
        {
            await using var select = connection.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var value = reader.IsDBNull(i) ? null : reader.GetValue(i);
                    var mentions = value switch
                    {
                        string s => needles.Any(n => s.Contains(n, StringComparison.Ordinal)),
                        byte[] b => byteNeedles.Any(n => b.AsSpan().IndexOf(n) >= 0),
                        _ => false,
                    };
                    if (mentions)
                    {
                        found.Add($"{table}.{reader.GetName(i)}");
                    }
                }
            }
        }

        return found;
    }
}
