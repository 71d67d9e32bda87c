using Cluster.Testing;

namespace Cluster.Persistence.Tests;

public sealed class SchemaMigratorTests
{
    /// <summary>Every query key Orleans 10's ADO.NET clustering, grain storage and reminder providers read.</summary>
    public static readonly string[] OrleansQueryKeys =
    [
        "CleanupDefunctSiloEntriesKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey", "InsertMembershipKey",
        "InsertMembershipVersionKey", "MembershipReadAllKey", "MembershipReadRowKey", "UpdateIAmAlivetimeKey",
        "UpdateMembershipKey",
        "ClearStorageKey", "DeleteStorageKey", "ReadFromStorageKey", "WriteToStorageKey",
        "DeleteReminderRowKey", "DeleteReminderRowsKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
        "ReadReminderRowKey", "ReadReminderRowsKey", "UpsertReminderRowKey",
    ];

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task MigrateAsync_EmptyDatabase_AppliesEveryScriptAndStoresEveryOrleansQuery(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateAsync(kind);

        var report = await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, Cancel);

        Assert.Equal("0001_orleans", report.Applied[0]);
        Assert.Empty(report.AlreadyApplied);
        var keys = await database.QueryAsync("SELECT QueryKey FROM OrleansQuery");
        Assert.Superset(OrleansQueryKeys.ToHashSet(), keys.ToHashSet());
        var history = await database.QueryAsync("SELECT name FROM schema_migrations ORDER BY version");
        Assert.Equal(report.Applied, history);
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task MigrateAsync_RunTwice_SecondRunAppliesAndChangesNothing(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateAsync(kind);
        var first = await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, Cancel);
        var before = await database.DumpAsync();

        var second = await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, Cancel);

        Assert.Empty(second.Applied);
        Assert.Equal(first.Applied, second.AlreadyApplied);
        Assert.Equal(before, await database.DumpAsync());
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task MigrateAsync_TwoConcurrentRuns_ApplyEachScriptOnce(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateAsync(kind);

        // Task.Run: Microsoft.Data.Sqlite's async methods complete synchronously.
        var runs = await Task.WhenAll(
            Task.Run(() => SchemaMigrator.MigrateAsync(kind, database.ConnectionString, Cancel), Cancel),
            Task.Run(() => SchemaMigrator.MigrateAsync(kind, database.ConnectionString, Cancel), Cancel));

        var appliedByBoth = runs.SelectMany(run => run.Applied).Order(StringComparer.Ordinal);
        var history = await database.QueryAsync("SELECT name FROM schema_migrations ORDER BY name");
        Assert.Equal(history, appliedByBoth);
        Assert.All(runs, run => Assert.Equal(history, run.Applied.Concat(run.AlreadyApplied).Order(StringComparer.Ordinal)));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task MigrateAsync_AppliedScriptChanged_FailsNamingTheVersion(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateAsync(kind);
        await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, Cancel);
        await database.ExecuteAsync("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => SchemaMigrator.MigrateAsync(kind, database.ConnectionString, Cancel));

        Assert.Contains("0001_orleans", error.Message, StringComparison.Ordinal);
        Assert.Contains("edited", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task MigrateAsync_OrleansQueries_HoldNoTransactionStatements(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateAsync(kind);
        await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, Cancel);

        var texts = await database.QueryAsync("SELECT QueryKey, QueryText FROM OrleansQuery");

        Assert.All(texts, text => Assert.DoesNotMatch(@"(?i)\b(BEGIN|COMMIT|ROLLBACK|SAVEPOINT)\b", text));
    }

    [Fact]
    public async Task MigrateAsync_Sqlite_LeavesTheFileInWalMode()
    {
        await using var database = await TestDatabase.CreateAsync(StorageKind.Sqlite);

        await SchemaMigrator.MigrateAsync(StorageKind.Sqlite, database.ConnectionString, Cancel);

        Assert.Equal(["wal"], await database.QueryAsync("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task MigrateAsync_UnreachablePostgreSql_ErrorDoesNotRevealThePassword()
    {
        const string Password = "s3cret-Pa55word";
        var connectionString = $"Host=127.0.0.1;Port={Cluster.Testing.FreePorts.Next()};Username=nobody;Password={Password};Timeout=2";

        var error = await Assert.ThrowsAnyAsync<Exception>(
            () => SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, connectionString, Cancel));

        Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
    }
}
