using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Accounts;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// Companions are unlinked once the primary has stayed away <c>Linking:CompanionExpiryDays</c> (14) whole UTC days,
/// and warned with <c>companionsExpiring</c> within <c>Linking:CompanionExpiryWarningDays</c> (2) of it: at the next
/// request that uses the account, or on the clock when nobody asks.
/// </summary>
public sealed class CompanionExpiryTests
{
    private const long DayMs = 86_400_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Expiry_PrimaryAwayFifteenDays_CompanionUnlinkedSocketClosedAndContactSeesOnlyPrimary()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        var contact = await TestAccounts.RegisterAsync(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, companion, Cancel);
        await socket.ReadBacklogAsync();

        time.Advance(TimeSpan.FromDays(15));

        // The contact's look-up is the first call after the expiry: it finds the companion already gone.
        using var contactHttp = contact.CreateClient(silo);
        var devices = await contactHttp.GetFromJsonAsync<JsonObject>($"/v1/accounts/{Uri.EscapeDataString(primary.AccountId)}/devices", Cancel);
        Assert.Equal([1], devices!["devices"]!.AsArray().Select(d => (int)d!["deviceId"]!));
        Assert.Equal((WebSocketCloseStatus)4401, await socket.Closed.WaitAsync(TimeSpan.FromSeconds(15), Cancel));
        using var companionHttp = companion.CreateClient(silo);
        using var after = await companionHttp.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Expiry_CompanionRequestAfterFifteenDays_Unauthorized()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        using var companionHttp = companion.CreateClient(silo);
        using var before = await companionHttp.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        time.Advance(TimeSpan.FromDays(15));

        using var after = await companionHttp.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        using var primaryHttp = primary.CreateClient(silo);
        var own = await primaryHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);
        Assert.Single(own!["devices"]!.AsArray());
    }

    [Fact]
    public async Task Expiry_PrimaryBackAfterFifteenDays_CompanionsAlreadyUnlinked()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);

        time.Advance(TimeSpan.FromDays(15));

        // The primary's own return does not rescue them: the expiry is checked before its visit counts.
        using var primaryHttp = primary.CreateClient(silo);
        var own = await primaryHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);
        Assert.Equal([1], own!["devices"]!.AsArray().Select(d => (int)d!["deviceId"]!));
        using var companionHttp = companion.CreateClient(silo);
        using var after = await companionHttp.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Expiry_PrimaryActiveOnDayThirteen_CompanionStays()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        using var primaryHttp = primary.CreateClient(silo);

        time.Advance(TimeSpan.FromDays(13));
        using var visit = await primaryHttp.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.OK, visit.StatusCode);
        time.Advance(TimeSpan.FromDays(2));

        using var companionHttp = companion.CreateClient(silo);
        var devices = await companionHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);
        Assert.Equal(2, devices!["devices"]!.AsArray().Count);
    }

    [Fact]
    public async Task Expiry_WithinTwoDaysOfTheUnlink_ConnectedCompanionWarnedWithTheUnlinkTime()
    {
        await using var world = await ConnectedCompanion.StartAsync();
        var (time, silo, _, companion, socket) = (world.Time, world.Silo, world.Primary, world.Companion, world.Socket);
        var registeredDay = world.RegisteredDay;

        time.Advance(TimeSpan.FromDays(13));
        using var companionHttp = companion.CreateClient(silo);
        using var request = await companionHttp.GetAsync("/v1/devices", Cancel);

        Assert.Equal(HttpStatusCode.OK, request.StatusCode);
        var warning = (await socket.NextAsync("companionsExpiring"))["event"]!;
        Assert.Equal("companionsExpiring", (string?)warning["type"]);
        Assert.Equal(registeredDay + (15 * DayMs), (long)warning["unlinkAt"]!);
    }

    [Fact]
    public async Task Expiry_NobodyAsks_ConnectedCompanionWarnedThenClosedOnTheClock()
    {
        await using var world = await ConnectedCompanion.StartAsync();
        var (time, silo, _, companion, socket) = (world.Time, world.Silo, world.Primary, world.Companion, world.Socket);
        var registeredDay = world.RegisteredDay;

        // No request of anyone from here on: the account's own timer warns, then unlinks.
        time.Advance(TimeSpan.FromDays(13) + TimeSpan.FromHours(1));
        var warning = (await socket.NextAsync("companionsExpiring"))["event"]!;

        // The warning goes out in the turn that then arms the unlink timer; a fake clock advanced before the timer is
        // armed would arm it two days late. A read-only call queues behind that turn (it changes nothing and runs no
        // expiry check), so the timer is armed when it returns.
        await silo.Grains.GetGrain<IAccountGrain>(companion.AccountId).GetDeviceSetAsync();
        time.Advance(TimeSpan.FromDays(2));
        var closed = await socket.Closed.WaitAsync(TimeSpan.FromSeconds(15), Cancel);

        Assert.Equal("companionsExpiring", (string?)warning["type"]);
        Assert.Equal(registeredDay + (15 * DayMs), (long)warning["unlinkAt"]!);
        Assert.Equal((WebSocketCloseStatus)4401, closed);
        using var companionHttp = companion.CreateClient(silo);
        using var after = await companionHttp.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Expiry_PrimaryBackAfterTheWarning_CompanionStaysPastTheOldUnlink()
    {
        await using var world = await ConnectedCompanion.StartAsync();
        var (time, silo, primary, _, socket) = (world.Time, world.Silo, world.Primary, world.Companion, world.Socket);
        using var primaryHttp = primary.CreateClient(silo);

        time.Advance(TimeSpan.FromDays(13) + TimeSpan.FromHours(1));
        await socket.NextAsync("companionsExpiring");
        using var visit = await primaryHttp.GetAsync("/v1/devices", Cancel);
        time.Advance(TimeSpan.FromDays(2));
        var devices = await primaryHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel);

        Assert.Equal(HttpStatusCode.OK, visit.StatusCode);
        Assert.Equal(2, devices!["devices"]!.AsArray().Count);
        Assert.False(socket.Closed.IsCompleted, "the companion's socket was closed although the primary came back");
    }

    /// <summary>A silo on a fake clock with an account whose linked companion has its socket open and its backlog read.</summary>
    private sealed record ConnectedCompanion(FakeTimeProvider Time, TestSilo Silo, TestDevice Primary, TestDevice Companion, TestSocket Socket, long RegisteredDay) : IAsyncDisposable
    {
        public static async Task<ConnectedCompanion> StartAsync()
        {
            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
            var primary = await TestAccounts.RegisterAsync(silo);
            var registeredDay = time.GetUtcNow().ToUnixTimeMilliseconds() / DayMs * DayMs;
            var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
            var socket = await TestSocket.ConnectAsync(silo, companion, Cancel);
            await socket.ReadBacklogAsync();
            return new ConnectedCompanion(time, silo, primary, companion, socket, registeredDay);
        }

        public async ValueTask DisposeAsync()
        {
            await Socket.DisposeAsync();
            await Silo.DisposeAsync();
        }
    }
}
