using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// <c>GET /v1/devices</c> (each device's id, name, link time and last-seen day, nothing finer) and a companion
/// unlinking itself, against a real silo on both engines.
/// </summary>
public sealed class DeviceManagementTests
{
    private const long DayMs = 86_400_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<StorageKind> Engines() => NewPhones.Engines();

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ListDevices_PrimaryAndCompanion_NameLinkTimeAndLastSeenDayOnly(StorageKind engine)
    {
        // Mid-day, so that a last-seen time finer than the day would show.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow.Date.AddHours(13).AddMinutes(7));
        await using var running = await NewPhones.StartAsync(engine, time);
        var silo = running.Silo;
        var registeredAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        var primary = await TestAccounts.RegisterAsync(silo);
        time.Advance(TimeSpan.FromDays(2) + TimeSpan.FromHours(3));
        var linkedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, companion));
        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(5));
        using var http = primary.CreateClient(silo);

        var list = (await http.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel))!["devices"]!.AsArray();

        Assert.Equal([1, companion.DeviceId], list.Select(d => (int)d!["deviceId"]!));
        var (first, second) = (list[0]!, list[1]!);
        Assert.Equal(("test phone", registeredAt, primary.RegistrationId), ((string?)first["name"], (long)first["linkedAt"]!, (int)first["registrationId"]!));
        Assert.Equal(("laptop", linkedAt, companion.RegistrationId), ((string?)second["name"], (long)second["linkedAt"]!, (int)second["registrationId"]!));
        var today = time.GetUtcNow().ToUnixTimeMilliseconds() / DayMs * DayMs;
        Assert.Equal(today, (long)first["lastSeenAt"]!);
        Assert.Equal(today - DayMs, (long)second["lastSeenAt"]!);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task UnlinkSelf_Companion_CredentialsRefusedSocketClosedAndPrimaryToldAndSeesItGone(StorageKind engine)
    {
        await using var running = await NewPhones.StartAsync(engine);
        var silo = running.Silo;
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        var other = await Linking.LinkAsync(silo, primary, keyIndex: 2);
        await using var companionSocket = await TestSocket.ConnectAsync(silo, companion, Cancel);
        await using var primarySocket = await TestSocket.ConnectAsync(silo, primary, Cancel);
        await companionSocket.ReadBacklogAsync();
        await primarySocket.ReadBacklogAsync();
        using var companionHttp = companion.CreateClient(silo);

        using var notOwn = await companionHttp.DeleteAsync($"/v1/devices/{other.DeviceId}", Cancel);
        using var own = await companionHttp.DeleteAsync($"/v1/devices/{companion.DeviceId}", Cancel);

        await NewPhones.AssertErrorAsync(notOwn, HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(HttpStatusCode.NoContent, own.StatusCode);
        Assert.Equal((WebSocketCloseStatus)4401, await companionSocket.ClosedAsync("with 4401 once the companion unlinked itself"));
        Assert.Equal(HttpStatusCode.Unauthorized, await NewPhones.StatusOfDevicesAsync(silo, companion));
        var changed = await NewPhones.NextEventAsync(primarySocket, "deviceListChanged");
        Assert.Equal(primary.AccountId, (string?)changed["accountId"]);
        using var primaryHttp = primary.CreateClient(silo);
        var list = (await primaryHttp.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel))!["devices"]!.AsArray();
        Assert.Equal([1, other.DeviceId], list.Select(d => (int)d!["deviceId"]!));
    }
}
