using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Devices;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>
/// The push tests' helpers: a silo with Web Push on (a fresh VAPID key, loopback http allowed, one worker so wake-ups
/// go out in order, no delay between attempts) plus whatever a test adds (the FCM or APNs fake's settings), on
/// either engine and with one or two silos (<see cref="PushCluster"/>); a sender and a subscribed receiver; calls.
/// </summary>
internal static class Push
{
    public static TheoryData<StorageKind> Engines() => [StorageKind.Sqlite, StorageKind.PostgreSql];

    public static Dictionary<string, string> Settings(Dictionary<string, string>? extra)
    {
        var settings = WebPushService.SiloSettings();
        settings["Push:WebPush:Timeout"] = "00:01:00";
        settings["Push:WebPush:RetryDelay"] = "00:00:00";
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>The settings of several fakes at once (FCM and APNs on one silo).</summary>
    public static Dictionary<string, string> Together(params IEnumerable<Dictionary<string, string>> parts) =>
        parts.SelectMany(part => part).ToDictionary(setting => setting.Key, setting => setting.Value);

    public static Task<TestSilo> SiloAsync(FakeTimeProvider time, CancellationToken cancellationToken, Dictionary<string, string>? extra = null) =>
        TestSilo.StartAsync(new TestSiloSettings { Time = time, Settings = Settings(extra) }, cancellationToken);

    public static async Task SubscribeAsync(HttpClient device, JsonObject subscription, CancellationToken cancellationToken)
    {
        using var response = await device.PutAsJsonAsync("/v1/push/subscription", subscription, cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    /// <summary>Alice (the sender) and Bob, whose one device subscribes with <paramref name="subscription"/> through <paramref name="silo"/>.</summary>
    public static async Task<Pair> PairAsync(TestSilo silo, JsonObject subscription, CancellationToken cancellationToken)
    {
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        var pair = new Pair(alice, bob, alice.CreateClient(silo), bob.CreateClient(silo));
        await SubscribeAsync(pair.Receiver, subscription, cancellationToken);
        return pair;
    }

    public static JsonObject Urgent(JsonObject body)
    {
        body["urgent"] = true;
        return body;
    }

    /// <summary>Waits until the device grain has no socket attached (the detach follows the close handshake, with no event to the test).</summary>
    public static Task OfflineAsync(TestSilo silo, TestDevice device) =>
        Eventually.TrueAsync(
            async () => !await silo.Grains.GetGrain<IDeviceGrain>(device.Login).TryPublishEventAsync("{\"type\":\"probe\"}"u8.ToArray()),
            TimeSpan.FromSeconds(30), () => $"{device.Login} detached");

    /// <summary>Waits until the primary <paramref name="device"/> sees its own subscription gone (the dispatcher removes it after the provider's answer).</summary>
    public static Task SubscriptionGoneAsync(HttpClient device, CancellationToken cancellationToken) =>
        Eventually.TrueAsync(
            async () =>
            {
                using var after = await device.GetAsync("/v1/push/subscriptions/1", cancellationToken);
                return after.StatusCode == HttpStatusCode.NotFound;
            },
            TimeSpan.FromSeconds(30), () => "the subscription removed after the provider called it gone");

    /// <summary>The sealed offer <see cref="CallAsync"/> sends <paramref name="device"/> (base64): its own, so a device can tell it from another's.</summary>
    public static string OfferFor(TestDevice device) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"sealed offer for {device.Login} {device.RegistrationId}"));

    /// <summary>Calls <paramref name="devices"/> (all of one account) with <see cref="OfferFor"/> each; the call id.</summary>
    public static async Task<string> CallAsync(HttpClient caller, IReadOnlyList<TestDevice> devices, CancellationToken cancellationToken)
    {
        using var started = await caller.PostAsJsonAsync("/v1/calls", new JsonObject
        {
            ["to"] = devices[0].AccountId,
            ["offers"] = new JsonArray([.. devices.Select(d => (JsonNode)new JsonObject
            {
                ["deviceId"] = d.DeviceId,
                ["registrationId"] = d.RegistrationId,
                ["payload"] = OfferFor(d),
            })]),
        }, cancellationToken);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        return (string)(await started.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!["callId"]!;
    }

    public static async Task AnswerAsync(HttpClient device, string callId, CancellationToken cancellationToken)
    {
        using var answered = await device.PostAsJsonAsync($"/v1/calls/{callId}/answer", new JsonObject { ["payload"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)) }, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    /// <summary>A caller, and a callee whose primary is connected and whose companion subscribes with <paramref name="subscription"/> and has no socket.</summary>
    public static async Task<CallSetup> CallSetupAsync(TestSilo silo, JsonObject subscription, CancellationToken cancellationToken)
    {
        var a1 = await TestAccounts.RegisterAsync(silo);
        var b1 = await TestAccounts.RegisterAsync(silo);
        var b2 = await TestAccounts.AddCompanionAsync(silo, b1);
        var setup = new CallSetup(b1, b2, a1.CreateClient(silo), b1.CreateClient(silo), b2.CreateClient(silo), await TestSocket.ConnectAsync(silo, b1, cancellationToken));
        await SubscribeAsync(setup.Companion, subscription, cancellationToken);
        await setup.PrimarySocket.ReadBacklogAsync();
        return setup;
    }
}

/// <summary>A sender and a receiver with a push subscription, and their HTTP clients.</summary>
internal sealed record Pair(TestDevice Alice, TestDevice Bob, HttpClient Sender, HttpClient Receiver) : IDisposable
{
    public void Dispose()
    {
        Sender.Dispose();
        Receiver.Dispose();
    }
}

/// <summary>What a call test needs: the callee's connected primary and subscribed offline companion, and the clients.</summary>
internal sealed record CallSetup(TestDevice CalleePrimary, TestDevice CalleeCompanion, HttpClient Caller, HttpClient Primary, HttpClient Companion, TestSocket PrimarySocket)
    : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        Caller.Dispose();
        Primary.Dispose();
        Companion.Dispose();
        await PrimarySocket.DisposeAsync();
    }
}

/// <summary>
/// One or two push test silos on one database (a fresh PostgreSQL one, migrated, dropped on dispose; or the first
/// silo's own SQLite file), in one cluster of their own, on one fake clock.
/// </summary>
internal sealed class PushCluster : IAsyncDisposable
{
    // Orleans' default TableRefreshTimeout is 60 s: a silo that missed the gossip about a change still sees it by then.
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(90);

    private readonly PostgresDatabase? database;
    private readonly List<TestSilo> silos = [];

    private PushCluster(PostgresDatabase? database) => this.database = database;

    public IReadOnlyList<TestSilo> Silos => silos;

    public TestSilo First => silos[0];

    public static async Task<PushCluster> StartAsync(StorageKind engine, int siloCount, FakeTimeProvider time, Dictionary<string, string>? extra, CancellationToken cancellationToken)
    {
        var cluster = new PushCluster(engine == StorageKind.PostgreSql ? await PostgresDatabase.CreateAsync() : null);
        try
        {
            if (cluster.database is { } db)
            {
                await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, db.ConnectionString, cancellationToken);
            }

            var settings = new TestSiloSettings
            {
                Time = time,
                Settings = Push.Settings(extra),
                PostgresConnectionString = cluster.database?.ConnectionString,
                ClusterId = $"push-{Guid.NewGuid():N}",
            };
            for (var i = 0; i < siloCount; i++)
            {
                cluster.silos.Add(await TestSilo.StartAsync(settings, cancellationToken));
            }

            foreach (var silo in cluster.silos.Where(_ => siloCount > 1))
            {
                await silo.WaitForActiveSilosAsync(siloCount, MembershipTimeout, cancellationToken);
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in silos)
        {
            await silo.DisposeAsync();
        }

        if (database is not null)
        {
            await database.DisposeAsync();
        }
    }
}
