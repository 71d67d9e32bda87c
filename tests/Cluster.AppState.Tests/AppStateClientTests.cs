using System.Text;
using Cluster.Client;
using Cluster.Client.AppState;
using Cluster.Testing;

namespace Cluster.AppState.Tests;

/// <summary>The SDK's app state calls against a real silo.</summary>
public sealed class AppStateClientTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sdk_UploadRaceSnapshotFetch_TypedAnswersAndConflict()
    {
        var primary = await TestAccounts.RegisterAsync(fixture.Silo);
        using var http = fixture.Silo.CreateHttpClient();
        using var client = new ClusterClient(http, new DeviceCredentials(primary.AccountId, primary.DeviceId, primary.Password));

        var first = await client.UploadAppStatePatchAsync("regular", 1, Encoding.UTF8.GetBytes("one"), Cancel);
        var conflict = await Assert.ThrowsAsync<AppStateConflictException>(() => client.UploadAppStatePatchAsync("regular", 1, [9], Cancel));
        await client.UploadAppStatePatchAsync("regular", 2, Encoding.UTF8.GetBytes("two"), Cancel);
        var snapshot = await client.UploadAppStateSnapshotAsync("regular", 1, Encoding.UTF8.GetBytes("state at one"), Cancel);
        var page = await client.FetchAppStateAsync("regular", 0, cancellationToken: Cancel);
        var collections = await client.GetAppStateCollectionsAsync(Cancel);

        Assert.Equal(new AppStateHead("regular", 1, 0), first);
        Assert.Equal(("version_conflict", 1L), (conflict.Error, conflict.Version));
        Assert.Equal(1, snapshot.SnapshotVersion);
        Assert.Equal("state at one", Encoding.UTF8.GetString(page.Snapshot!.Data));
        Assert.Equal(["two"], page.Patches.Select(p => Encoding.UTF8.GetString(p.Data)));
        Assert.Equal([new AppStateHead("regular", 2, 1)], collections);
    }
}
