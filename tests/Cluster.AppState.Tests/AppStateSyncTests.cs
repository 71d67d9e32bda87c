using System.Net;
using Cluster.Testing;
using static Cluster.AppState.Tests.AppStateCalls;

namespace Cluster.AppState.Tests;

/// <summary>Uploads, fetches, snapshots, events and rights on one shared embedded silo; every test has fresh accounts.</summary>
public sealed class AppStateSyncTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private TestSilo Silo => fixture.Silo;

    [Fact]
    public async Task UploadPatch_TwoDevicesRacingForEachVersion_OneStoredOneConflictAndNoChangeLost()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await TestAccounts.AddCompanionAsync(Silo, primary);
        using var a = primary.CreateClient(Silo);
        using var b = companion.CreateClient(Silo);
        const int Rounds = 10;

        for (var round = 0; round < Rounds; round++)
        {
            var version = (2 * round) + 1;
            var answers = await Task.WhenAll(PatchAsync(a, "regular", version, $"a{round}"), PatchAsync(b, "regular", version, $"b{round}"));

            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], answers.Select(x => x.Status).Order());
            var conflict = answers.Single(x => x.Status == HttpStatusCode.Conflict).Body;
            Assert.Equal("version_conflict", (string?)conflict["error"]);
            Assert.Equal(version, (long)conflict["version"]!);

            // The loser fetches, rebases on the winner's version and uploads the next one.
            var loser = answers[0].Status == HttpStatusCode.Conflict ? a : b;
            var (status, _) = await PatchAsync(loser, "regular", version + 1, answers[0].Status == HttpStatusCode.Conflict ? $"a{round}" : $"b{round}");
            Assert.Equal(HttpStatusCode.OK, status);
        }

        var state = await CatchUpAsync(a, "regular", 0);
        Assert.Equal(Enumerable.Range(1, 2 * Rounds).Select(v => (long)v), state.Patches.Select(p => p.Version));
        Assert.Equal(
            Enumerable.Range(0, Rounds).SelectMany(r => new[] { $"a{r}", $"b{r}" }).Order(),
            state.Patches.Select(p => p.Text).Order());
    }

    [Fact]
    public async Task CatchUp_CompanionLinkedMidLife_EveryCollectionFromSnapshotAndPatches()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        await PatchesAsync(http, "regular", 1, 6);
        Assert.Equal(HttpStatusCode.OK, (await SnapshotAsync(http, "regular", 5, "regular at 5")).Status);
        await PatchesAsync(http, "critical_block", 1, 2);

        var companion = await Linking.LinkAsync(Silo, primary, keyIndex: 1);
        using var late = companion.CreateClient(Silo);
        var (_, list) = await SendAsync(late, HttpMethod.Get, "/v1/appstate", null);
        var caughtUp = new Dictionary<string, CaughtUp>();
        foreach (var collection in list["collections"]!.AsArray())
        {
            caughtUp[(string)collection!["collection"]!] = await CatchUpAsync(late, (string)collection["collection"]!, 0);
        }

        Assert.Equal(["critical_block", "regular"], caughtUp.Keys.Order());
        Assert.Equal((5L, "regular at 5"), (caughtUp["regular"].SnapshotVersion!.Value, caughtUp["regular"].Snapshot!));
        Assert.Equal(["p6"], caughtUp["regular"].Patches.Select(p => p.Text));
        Assert.Null(caughtUp["critical_block"].Snapshot);
        Assert.Equal(["p1", "p2"], caughtUp["critical_block"].Patches.Select(p => p.Text));
    }

    [Fact]
    public async Task Fetch_FromZeroMiddleAndLatest_EveryPatchAfterInOrder()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        await PatchesAsync(http, "regular_high", 1, 7);

        var fromZero = await CatchUpAsync(http, "regular_high", 0);
        var fromMiddle = await CatchUpAsync(http, "regular_high", 4);
        var fromLatest = await FetchAsync(http, "regular_high", 7);
        var paged = await CatchUpAsync(http, "regular_high", 0, limit: 3);

        Assert.Equal(["p1", "p2", "p3", "p4", "p5", "p6", "p7"], fromZero.Patches.Select(p => p.Text));
        Assert.Null(fromZero.Snapshot);
        Assert.Equal([5L, 6L, 7L], fromMiddle.Patches.Select(p => p.Version));
        Assert.Empty(fromLatest["patches"]!.AsArray());
        Assert.Equal(7, (long)fromLatest["version"]!);
        Assert.Equal(fromZero.Patches, paged.Patches);
    }

    [Fact]
    public async Task Fetch_BeforeAndAfterSnapshot_SnapshotAndWhatFollowsOrPatchesOnly()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        await PatchesAsync(http, "regular", 1, 6);
        var (status, head) = await SnapshotAsync(http, "regular", 4, "state at 4");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(4, (long)head["snapshotVersion"]!);

        var fromZero = await FetchAsync(http, "regular", 0);
        var beforeSnapshot = await FetchAsync(http, "regular", 3);
        var atSnapshot = await FetchAsync(http, "regular", 4);
        var afterSnapshot = await FetchAsync(http, "regular", 5);

        foreach (var page in new[] { fromZero, beforeSnapshot })
        {
            Assert.Equal(4, (long)page["snapshot"]!["version"]!);
            Assert.Equal("state at 4", Text(page["snapshot"]));
            Assert.Equal(["p5", "p6"], page["patches"]!.AsArray().Select(Text));
        }

        Assert.Null(atSnapshot["snapshot"]);
        Assert.Equal(["p5", "p6"], atSnapshot["patches"]!.AsArray().Select(Text));
        Assert.Null(afterSnapshot["snapshot"]);
        Assert.Equal(["p6"], afterSnapshot["patches"]!.AsArray().Select(Text));
    }

    [Fact]
    public async Task Snapshot_Compaction_EveryVersionStillAskableCatchesUpToLatest()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        await PatchesAsync(http, "regular_low", 1, 5);
        Assert.Equal(HttpStatusCode.OK, (await SnapshotAsync(http, "regular_low", 3, "s3")).Status);
        await PatchesAsync(http, "regular_low", 6, 9);
        Assert.Equal(HttpStatusCode.OK, (await SnapshotAsync(http, "regular_low", 8, "s8")).Status);
        await PatchesAsync(http, "regular_low", 10, 11);

        for (var since = 0; since <= 11; since++)
        {
            var state = await CatchUpAsync(http, "regular_low", since, limit: 2);

            // The state is whole: the device's own version or the snapshot, then every version after it, none missing.
            var start = state.SnapshotVersion ?? since;
            Assert.Equal(since < 8 ? 8 : null, state.SnapshotVersion);
            Assert.Equal(Enumerable.Range((int)start + 1, 11 - (int)start).Select(v => (long)v), state.Patches.Select(p => p.Version));
            Assert.Equal(11, state.Position);
        }
    }

    [Fact]
    public async Task Snapshot_AtOrBelowCurrentOrAboveLatest_409AndNothingChanged()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        await PatchesAsync(http, "critical_block", 1, 3);
        Assert.Equal(HttpStatusCode.OK, (await SnapshotAsync(http, "critical_block", 2, "s2")).Status);

        var stale = await SnapshotAsync(http, "critical_block", 2, "s2 again");
        var older = await SnapshotAsync(http, "critical_block", 1, "s1");
        var ahead = await SnapshotAsync(http, "critical_block", 4, "s4");
        var page = await FetchAsync(http, "critical_block", 0);

        Assert.Equal((HttpStatusCode.Conflict, "snapshot_stale"), (stale.Status, (string?)stale.Body["error"]));
        Assert.Equal((HttpStatusCode.Conflict, "snapshot_stale"), (older.Status, (string?)older.Body["error"]));
        Assert.Equal((HttpStatusCode.Conflict, "snapshot_ahead"), (ahead.Status, (string?)ahead.Body["error"]));
        Assert.Equal(3, (long)ahead.Body["version"]!);
        Assert.Equal("s2", Text(page["snapshot"]));
        Assert.Equal(["p3"], page["patches"]!.AsArray().Select(Text));
    }

    [Fact]
    public async Task UploadPatch_OtherDeviceConnected_GetsAppStateChangedEvent()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await TestAccounts.AddCompanionAsync(Silo, primary);
        await using var socket = await TestSocket.ConnectAsync(Silo, companion, TestContext.Current.CancellationToken);
        await socket.ReadBacklogAsync();
        using var http = primary.CreateClient(Silo);

        await PatchesAsync(http, "regular", 1, 2);
        var first = await NextAppStateChangedAsync(socket);
        var second = await NextAppStateChangedAsync(socket);

        Assert.Equal(("regular", 1L), ((string?)first["collection"], (long)first["version"]!));
        Assert.Equal(("regular", 2L), ((string?)second["collection"], (long)second["version"]!));
    }

    [Fact]
    public async Task Fetch_AnotherAccountsDevice_SeesOnlyItsOwnCollections()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        using var a = alice.CreateClient(Silo);
        using var b = bob.CreateClient(Silo);
        await PatchesAsync(a, "regular", 1, 2);

        var bobsView = await FetchAsync(b, "regular", 0);
        var bobsFirst = await PatchAsync(b, "regular", 1, "bob's own");
        var (_, bobsList) = await SendAsync(b, HttpMethod.Get, "/v1/appstate", null);
        var alicesView = await CatchUpAsync(a, "regular", 0);

        Assert.Equal(0, (long)bobsView["version"]!);
        Assert.Empty(bobsView["patches"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, bobsFirst.Status);
        Assert.Equal([("regular", 1L)], bobsList["collections"]!.AsArray().Select(c => ((string)c!["collection"]!, (long)c["version"]!)));
        Assert.Equal(["p1", "p2"], alicesView.Patches.Select(p => p.Text));
    }

    [Fact]
    public async Task Fetch_RemovedDevice_401AndItsUploadsRefused()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await TestAccounts.AddCompanionAsync(Silo, primary);
        using var owner = primary.CreateClient(Silo);
        using var removed = companion.CreateClient(Silo);
        await PatchesAsync(owner, "regular", 1, 1);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(removed, HttpMethod.Get, "/v1/appstate/regular", null)).Status);
        using (var removal = await owner.DeleteAsync($"/v1/devices/{companion.DeviceId}", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, removal.StatusCode);
        }

        var fetch = await SendAsync(removed, HttpMethod.Get, "/v1/appstate/regular", null);
        var upload = await PatchAsync(removed, "regular", 2, "from a removed device");
        var snapshot = await SnapshotAsync(removed, "regular", 1, "from a removed device");

        Assert.Equal(HttpStatusCode.Unauthorized, fetch.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, upload.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, snapshot.Status);
        Assert.Equal(1, (long)(await FetchAsync(owner, "regular", 0))["version"]!);
    }

    [Theory]
    [InlineData("POST", "/v1/appstate/contacts/patches", """{"version":1,"patch":"AQ=="}""", 400, "unknown_collection")]
    [InlineData("GET", "/v1/appstate/REGULAR", null, 400, "unknown_collection")]
    [InlineData("POST", "/v1/appstate/regular/patches", """{"version":0,"patch":"AQ=="}""", 400, "invalid_field")]
    [InlineData("POST", "/v1/appstate/regular/patches", """{"patch":"AQ=="}""", 400, "missing_field")]
    [InlineData("POST", "/v1/appstate/regular/patches", """{"version":1}""", 400, "missing_field")]
    [InlineData("POST", "/v1/appstate/regular/patches", """{"version":1,"patch":""}""", 400, "invalid_field")]
    [InlineData("POST", "/v1/appstate/regular/patches", """{"version":1,"patch":"not base64!"}""", 400, "invalid_field")]
    [InlineData("POST", "/v1/appstate/regular/patches", """{"version":"1","patch":"AQ=="}""", 400, "invalid_field")]
    [InlineData("PUT", "/v1/appstate/regular/snapshot", """{"version":1}""", 400, "missing_field")]
    [InlineData("GET", "/v1/appstate/regular?since=-1", null, 400, "invalid_field")]
    [InlineData("GET", "/v1/appstate/regular?since=x", null, 400, "invalid_field")]
    [InlineData("GET", "/v1/appstate/regular?limit=0", null, 400, "invalid_field")]
    [InlineData("GET", "/v1/appstate/regular?limit=51", null, 400, "invalid_field")]
    [InlineData("GET", "/v1/appstate/regular?since=1", null, 409, "version_ahead")]
    [InlineData("POST", "/v1/appstate/regular/patches", """{"version":2,"patch":"AQ=="}""", 409, "version_conflict")]
    public async Task Request_Malformed_ClearErrorAndNothingStored(string method, string path, string? body, int status, string error)
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var answer = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
        var (_, list) = await SendAsync(http, HttpMethod.Get, "/v1/appstate", null);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(error, (string?)answer["error"]);
        Assert.Empty(list["collections"]!.AsArray());
    }
}
