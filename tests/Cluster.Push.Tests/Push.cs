using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Devices;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>The push tests' helpers: a silo with Web Push on (a fresh VAPID key, loopback http allowed, one worker so wake-ups go out in order), subscriptions, the offline probe.</summary>
internal static class Push
{
    public static Task<TestSilo> SiloAsync(FakeTimeProvider time, CancellationToken cancellationToken, Dictionary<string, string>? extra = null)
    {
        var settings = WebPushService.SiloSettings();
        settings["Push:WebPush:Timeout"] = "00:01:00";
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return TestSilo.StartAsync(new TestSiloSettings { Time = time, Settings = settings }, cancellationToken);
    }

    public static async Task SubscribeAsync(HttpClient device, JsonObject subscription, CancellationToken cancellationToken)
    {
        using var response = await device.PutAsJsonAsync("/v1/push/subscription", subscription, cancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
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
}
