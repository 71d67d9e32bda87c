using System.Net;
using Cluster.Persistence;
using Cluster.Persistence.AppState;
using Cluster.Testing;
using static Cluster.AppState.Tests.AppStateCalls;

namespace Cluster.AppState.Tests;

/// <summary>Collections survive a silo restart, and never fork between two stores (two silos) on one database, on both engines.</summary>
public sealed class AppStateDurabilityTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Restart_Embedded_CollectionsIntactAndVersionsContinue()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-appstate-").FullName, "cluster.db");
        await AssertDurableAsync(new TestSiloSettings { DataPath = dataPath });
    }

    [Fact]
    public async Task Restart_Postgres_CollectionsIntactAndVersionsContinue()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await AssertDurableAsync(new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"appstate-{Guid.NewGuid():N}" });
    }

    [Fact]
    public async Task AppendPatch_TwoSqliteStoresRacing_EachVersionStoredOnce()
    {
        var directory = Directory.CreateTempSubdirectory("cluster-appstate-race-");
        var path = Path.Combine(directory.FullName, "cluster.db");
        await SchemaMigrator.MigrateAsync(StorageKind.Sqlite, SqliteConnectionStrings.ForFile(path), Cancel);
        using var first = new SqliteAppStateStore(new SqliteFileDataSource(path));
        using var second = new SqliteAppStateStore(new SqliteFileDataSource(path));
        await AssertNoForkAsync(first, second);
    }

    [Fact]
    public async Task AppendPatch_TwoPostgresStoresRacing_EachVersionStoredOnce()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        await using var first = new PostgresAppStateStore(database.ConnectionString);
        await using var second = new PostgresAppStateStore(database.ConnectionString);
        await AssertNoForkAsync(first, second);
    }

    private static async Task AssertDurableAsync(TestSiloSettings settings)
    {
        TestDevice primary;
        await using (var silo = await TestSilo.StartAsync(settings, Cancel))
        {
            primary = await TestAccounts.RegisterAsync(silo);
            using var http = primary.CreateClient(silo);
            await PatchesAsync(http, "regular", 1, 4);
            Assert.Equal(HttpStatusCode.OK, (await SnapshotAsync(http, "regular", 3, "s3")).Status);
            await PatchesAsync(http, "critical_block", 1, 2);
        }

        await using var restarted = await TestSilo.StartAsync(settings, Cancel);
        using var again = primary.CreateClient(restarted);
        var regular = await CatchUpAsync(again, "regular", 0);
        var critical = await CatchUpAsync(again, "critical_block", 1);
        var stale = await PatchAsync(again, "regular", 4, "a version already stored");
        var next = await PatchAsync(again, "regular", 5, "p5");

        Assert.Equal((3L, "s3"), (regular.SnapshotVersion!.Value, regular.Snapshot!));
        Assert.Equal(["p4"], regular.Patches.Select(p => p.Text));
        Assert.Equal(["p2"], critical.Patches.Select(p => p.Text));
        Assert.Equal((HttpStatusCode.Conflict, 4L), (stale.Status, (long)stale.Body["version"]!));
        Assert.Equal(HttpStatusCode.OK, next.Status);
    }

    /// <summary>Two stores (as two silos would) race for every version of a new collection: one stores it, the other is told the latest.</summary>
    private static async Task AssertNoForkAsync(IAppStateStore first, IAppStateStore second)
    {
        var account = TestAccounts.NewAccountId();
        const int Versions = 25;
        for (var version = 1; version <= Versions; version++)
        {
            var results = await Task.WhenAll(
                Task.Run(() => first.AppendPatchAsync(account, "regular", version, [1], 1 << 20, 1000, Cancel), Cancel),
                Task.Run(() => second.AppendPatchAsync(account, "regular", version, [2], 1 << 20, 1000, Cancel), Cancel));

            Assert.Equal([AppStateWriteStatus.Stored, AppStateWriteStatus.Conflict], results.Select(r => r.Status).Order());
            Assert.All(results, r => Assert.Equal(version, r.Head.Version));
        }

        var page = await first.ReadAsync(account, "regular", 0, 1000, Cancel);
        Assert.Equal(Enumerable.Range(1, Versions).Select(v => (long)v), page.Patches.Select(p => p.Version));
        Assert.Equal(Versions, page.Head.Bytes);
    }
}
