using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Inbox.Tests;

public sealed class InboxServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddInboxStore_Sqlite_ResolvesOneSqliteStoreOnTheGivenFile()
    {
        await using var database = await TestDatabase.CreateMigratedAsync(StorageKind.Sqlite, TestContext.Current.CancellationToken);
        var services = new ServiceCollection().AddInboxStore(StorageKind.Sqlite, database.ConnectionString, database.SqliteDataSource);

        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IInboxStore>();
            Assert.IsType<SqliteInboxStore>(store);
            Assert.Same(store, provider.GetRequiredService<IInboxStore>());
            await store.AppendAsync([new InboxRow("a.1", 1, Guid.NewGuid(), long.MaxValue, [1])], TestContext.Current.CancellationToken);
        }

        await using var reopened = new SqliteInboxStore(database.SqliteDataSource!);
        Assert.Equal(1, await reopened.CountAsync("a.1", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AddInboxStore_SqliteWithoutDataSource_OpensTheConnectionStringsFile()
    {
        await using var database = await TestDatabase.CreateMigratedAsync(StorageKind.Sqlite, TestContext.Current.CancellationToken);
        await using var provider = new ServiceCollection()
            .AddInboxStore(StorageKind.Sqlite, database.ConnectionString)
            .BuildServiceProvider();

        var store = provider.GetRequiredService<IInboxStore>();

        await store.AppendAsync([new InboxRow("a.1", 1, Guid.NewGuid(), long.MaxValue, [1])], TestContext.Current.CancellationToken);
        Assert.Equal(1, await store.CountAsync("a.1", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AddInboxStore_PostgreSql_ResolvesAPostgresStore()
    {
        // The store connects on its first call only, so no server is needed to resolve it.
        await using var provider = new ServiceCollection()
            .AddInboxStore(StorageKind.PostgreSql, "Host=127.0.0.1;Port=1;Database=unused")
            .BuildServiceProvider();

        Assert.IsType<PostgresInboxStore>(provider.GetRequiredService<IInboxStore>());
    }

    [Fact]
    public void AddInboxStore_BadOptions_ThrowsNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceCollection()
            .AddInboxStore(StorageKind.PostgreSql, "Host=x", options: new InboxStoreOptions { PostgresWriters = 0 }));

        Assert.Equal(nameof(InboxStoreOptions.PostgresWriters), error.ParamName);
    }
}
