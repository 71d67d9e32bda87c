using Npgsql;
using Xunit;

namespace Cluster.Testing;

/// <summary>
/// A fresh PostgreSQL database with a unique name (<c>test_&lt;guid&gt;</c>), dropped when disposed.
/// Use it as a fixture (<c>IClassFixture&lt;PostgresDatabase&gt;</c>) or create one per test with
/// <see cref="CreateAsync"/>.
/// </summary>
/// <remarks>
/// The server is named by the admin connection string in <see cref="AdminConnectionStringVariable"/>.
/// When that variable is unset, no database is created and a test that asks for
/// <see cref="ConnectionString"/> (or calls <see cref="CreateAsync"/>) is skipped with that reason.
/// </remarks>
public sealed class PostgresDatabase : IAsyncLifetime
{
    /// <summary>The environment variable with the admin connection string, e.g. <c>Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres</c>.</summary>
    public const string AdminConnectionStringVariable = "CLUSTER_TEST_POSTGRES";

    /// <summary>Why PostgreSQL tests are skipped when <see cref="IsConfigured"/> is false.</summary>
    public static readonly string SkipReason =
        $"{AdminConnectionStringVariable} is not set, so there is no PostgreSQL server to test against.";

    /// <summary>Whether <see cref="AdminConnectionStringVariable"/> names a server.</summary>
    public static bool IsConfigured =>
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(AdminConnectionStringVariable));

    private string? adminConnectionString;
    private string? connectionString;

    /// <summary>The database's name, e.g. <c>test_0f8fad5bd9cb469fa16570867728950e</c>; null when skipped.</summary>
    public string? Name { get; private set; }

    /// <summary>
    /// A connection string for the fresh database. Skips the calling test when
    /// <see cref="AdminConnectionStringVariable"/> is unset.
    /// </summary>
    public string ConnectionString
    {
        get
        {
            Assert.SkipWhen(connectionString is null, SkipReason);
            return connectionString!;
        }
    }

    /// <summary>Creates a fresh database for one test, or skips the test when PostgreSQL is not configured.</summary>
    public static async Task<PostgresDatabase> CreateAsync()
    {
        Assert.SkipUnless(IsConfigured, SkipReason);
        var database = new PostgresDatabase();
        await database.InitializeAsync();
        return database;
    }

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        adminConnectionString = Environment.GetEnvironmentVariable(AdminConnectionStringVariable);
        if (string.IsNullOrWhiteSpace(adminConnectionString))
        {
            return;
        }

        var name = "test_" + Guid.NewGuid().ToString("N");
        await ExecuteAsAdminAsync($"CREATE DATABASE {name};");
        Name = name;
        connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Name is null)
        {
            return;
        }

        // Pooled connections to the database would be broken by the drop anyway; drop them first.
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            NpgsqlConnection.ClearPool(connection);
        }

        await ExecuteAsAdminAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE);");
        Name = null;
    }

    private async Task ExecuteAsAdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
