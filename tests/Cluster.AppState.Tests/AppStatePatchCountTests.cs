using System.Net;
using Cluster.Testing;
using static Cluster.AppState.Tests.AppStateCalls;

namespace Cluster.AppState.Tests;

/// <summary>
/// The patch-count limit: a client flooding a collection with tiny patches (far under the byte limit) is stopped at
/// <c>AppState:MaxPatchesPerCollection</c> rows, on a silo of its own with a cap of 3.
/// </summary>
public sealed class AppStatePatchCountTests : IAsyncLifetime
{
    private TestSilo? silo;

    private TestSilo Silo => silo!;

    public async ValueTask InitializeAsync() => silo = await TestSilo.StartAsync(new TestSiloSettings
    {
        Settings = new Dictionary<string, string> { ["AppState:MaxPatchesPerCollection"] = "3" },
    }, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync() => await silo!.DisposeAsync();

    [Fact]
    public async Task UploadPatch_TinyPatchesPastMaxPatchesPerCollection_413CollectionFullUntilASnapshot()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        for (var version = 1; version <= 3; version++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PatchAsync(http, "regular", version, "x")).Status);
        }

        var flood = await PatchAsync(http, "regular", 4, "x");
        var stored = (long)(await FetchAsync(http, "regular", 0))["version"]!;
        var snapshot = await SnapshotAsync(http, "regular", 3, "s");
        var afterSnapshot = await PatchAsync(http, "regular", 4, "x");

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "collection_full"), (flood.Status, (string?)flood.Body["error"]));
        Assert.Contains("3 patches", (string?)flood.Body["message"], StringComparison.Ordinal);
        Assert.Equal(3, stored);
        Assert.Equal(HttpStatusCode.OK, snapshot.Status);
        Assert.Equal(HttpStatusCode.OK, afterSnapshot.Status);
    }

    [Fact]
    public async Task Start_MaxPatchesPerCollectionZero_RefusedNamingTheKey()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["AppState:MaxPatchesPerCollection"] = "0" },
        }, TestContext.Current.CancellationToken));

        Assert.Contains("MaxPatchesPerCollection", failure.ToString(), StringComparison.Ordinal);
    }
}
