using System.Net;
using System.Text.Json.Nodes;
using Cluster.Testing;
using static Cluster.AppState.Tests.AppStateCalls;

namespace Cluster.AppState.Tests;

/// <summary>The size limits, on a silo of their own with small ones.</summary>
public sealed class AppStateLimitTests : IAsyncLifetime
{
    private TestSilo? silo;

    private TestSilo Silo => silo!;

    public async ValueTask InitializeAsync() => silo = await TestSilo.StartAsync(new TestSiloSettings
    {
        Settings = new Dictionary<string, string>
        {
            ["AppState:MaxPatchBytes"] = "100",
            ["AppState:MaxSnapshotBytes"] = "300",
            ["AppState:MaxBytesPerCollection"] = "400",
            ["AppState:PageSize"] = "2",
            ["AppState:Collections"] = "settings,contacts",
        },
    }, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync() => await silo!.DisposeAsync();

    [Fact]
    public async Task UploadPatch_OverMaxPatchBytes_413PatchTooLargeAndNothingStored()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);

        var fits = await PatchAsync(http, "settings", 1, new string('x', 100));
        var tooLarge = await PatchAsync(http, "settings", 2, new string('x', 101));
        var hugeBody = await SendAsync(http, HttpMethod.Post, "/v1/appstate/settings/patches", new JsonObject { ["version"] = 2, ["patch"] = Data(new string('x', 100_000)) });

        Assert.Equal(HttpStatusCode.OK, fits.Status);
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "patch_too_large"), (tooLarge.Status, (string?)tooLarge.Body["error"]));
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "patch_too_large"), (hugeBody.Status, (string?)hugeBody.Body["error"]));
        Assert.Equal(1, (long)(await FetchAsync(http, "settings", 0))["version"]!);
    }

    [Fact]
    public async Task UploadSnapshot_OverMaxSnapshotBytes_413SnapshotTooLarge()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        await PatchesAsync(http, "settings", 1, 1);

        var tooLarge = await SnapshotAsync(http, "settings", 1, new string('x', 301));

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "snapshot_too_large"), (tooLarge.Status, (string?)tooLarge.Body["error"]));
        Assert.Equal(0, (long)(await FetchAsync(http, "settings", 0))["snapshotVersion"]!);
    }

    [Fact]
    public async Task UploadPatch_CollectionFull_413UntilASnapshotMakesRoom()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        for (var version = 1; version <= 4; version++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PatchAsync(http, "contacts", version, new string('x', 100))).Status);
        }

        var full = await PatchAsync(http, "contacts", 5, "x");
        var snapshot = await SnapshotAsync(http, "contacts", 4, new string('s', 50));
        var afterSnapshot = await PatchAsync(http, "contacts", 5, "x");
        var state = await CatchUpAsync(http, "contacts", 0);

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "collection_full"), (full.Status, (string?)full.Body["error"]));
        Assert.Equal(HttpStatusCode.OK, snapshot.Status);
        Assert.Equal(HttpStatusCode.OK, afterSnapshot.Status);
        Assert.Equal(4, state.SnapshotVersion);
        Assert.Equal([5L], state.Patches.Select(p => p.Version));
    }

    [Fact]
    public async Task UploadSnapshot_WouldNotFitWithThePatchesAfterIt_413CollectionFull()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        for (var version = 1; version <= 3; version++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PatchAsync(http, "contacts", version, new string('x', 100))).Status);
        }

        // 300 bytes of snapshot at version 1, with versions 2 and 3 (200 bytes) kept after it: 500 > 400.
        var full = await SnapshotAsync(http, "contacts", 1, new string('s', 300));

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "collection_full"), (full.Status, (string?)full.Body["error"]));
        Assert.Equal([1L, 2L, 3L], (await CatchUpAsync(http, "contacts", 0)).Patches.Select(p => p.Version));
    }

    [Fact]
    public async Task Fetch_PageSizeAndCollections_FromSettings()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        await PatchesAsync(http, "settings", 1, 5);

        var page = await FetchAsync(http, "settings", 0);
        var defaultName = await SendAsync(http, HttpMethod.Get, "/v1/appstate/regular", null);
        var overPage = await SendAsync(http, HttpMethod.Get, "/v1/appstate/settings?limit=3", null);

        Assert.Equal([1L, 2L], page["patches"]!.AsArray().Select(p => (long)p!["version"]!));
        Assert.True((bool)page["more"]!);
        Assert.Equal((HttpStatusCode.BadRequest, "unknown_collection"), (defaultName.Status, (string?)defaultName.Body["error"]));
        Assert.Equal(HttpStatusCode.BadRequest, overPage.Status);
    }

    [Fact]
    public async Task Start_InvalidCollectionsSetting_RefusedNamingTheKey()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["AppState:Collections"] = "Bad Name" },
        }, TestContext.Current.CancellationToken));

        Assert.Contains("AppState:Collections", ex.ToString(), StringComparison.Ordinal);
    }
}
