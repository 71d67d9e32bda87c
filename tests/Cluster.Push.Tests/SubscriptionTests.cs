using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>Registering, replacing, removing and seeing push subscriptions, and the checks on what a device registers.</summary>
public sealed class SubscriptionTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Subscription_RegisterReplaceRemove_PrimarySeesCompanionKindOnly()
    {
        await using var service = await WebPushService.StartAsync();
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await TestAccounts.AddCompanionAsync(silo, primary);
        using var primaryClient = primary.CreateClient(silo);
        using var companionClient = companion.CreateClient(silo);
        var path = $"/v1/push/subscriptions/{companion.DeviceId}";

        using var none = await primaryClient.GetAsync(path, Cancel);
        await Push.SubscribeAsync(companionClient, service.Subscription(), Cancel);
        await Push.SubscribeAsync(companionClient, service.Subscription(), Cancel);
        var seen = await primaryClient.GetFromJsonAsync<JsonObject>(path, Cancel);
        using var forbidden = await companionClient.GetAsync("/v1/push/subscriptions/1", Cancel);
        using var removed = await companionClient.DeleteAsync("/v1/push/subscription", Cancel);
        using var gone = await primaryClient.GetAsync(path, Cancel);

        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal("webPush", (string?)seen!["kind"]);
        Assert.Null(seen["endpoint"]);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Theory]
    [InlineData("endpoint", "http://push.example.org/x")]
    [InlineData("endpoint", "https://10.0.0.5/x")]
    [InlineData("endpoint", "https://169.254.169.254/latest")]
    [InlineData("endpoint", "https://[fd00::1]/x")]
    [InlineData("endpoint", "https://user:pw@push.example.org/x")]
    [InlineData("endpoint", "not a url")]
    [InlineData("p256dh", "AAAA")]
    [InlineData("auth", "AAAA")]
    [InlineData("kind", "carrierPigeon")]
    public async Task Subscription_BadField_400NamingIt(string field, string value)
    {
        await using var service = await WebPushService.StartAsync();
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel);
        var device = await TestAccounts.RegisterAsync(silo);
        using var client = device.CreateClient(silo);
        var body = service.Subscription();
        body[field] = value;

        using var response = await client.PutAsJsonAsync("/v1/push/subscription", body, Cancel);
        var error = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        using var stored = await client.GetAsync("/v1/push/subscriptions/1", Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, (string?)error!["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, stored.StatusCode);
    }

    [Fact]
    public async Task Subscription_LoopbackWithoutTestOption_Refused()
    {
        await using var service = await WebPushService.StartAsync();
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, new() { ["Push:WebPush:AllowHttpLoopback"] = "false" });
        var device = await TestAccounts.RegisterAsync(silo);
        using var client = device.CreateClient(silo);
        var body = service.Subscription();
        body["endpoint"] = "https://127.0.0.1:9/x";

        using var response = await client.PutAsJsonAsync("/v1/push/subscription", body, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
    [Fact]
    public async Task Sdk_SetGetRemove_RoundTrips()
    {
        await using var service = await WebPushService.StartAsync();
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel);
        var device = await TestAccounts.RegisterAsync(silo);
        using var http = device.CreateClient(silo);
        using var client = new Cluster.Client.ClusterClient(http, new Cluster.Client.DeviceCredentials(device.AccountId, device.DeviceId, device.Password));

        await client.SetPushSubscriptionAsync(new Cluster.Client.Push.WebPushSubscription(service.Endpoint, WebPushService.B64(service.P256dh), WebPushService.B64(service.Auth)), Cancel);
        var status = await client.GetPushSubscriptionAsync(1, Cancel);
        await client.RemovePushSubscriptionAsync(Cancel);
        var gone = await Assert.ThrowsAsync<Cluster.Client.ClusterApiException>(() => client.GetPushSubscriptionAsync(1, Cancel));

        Assert.Equal("webPush", status.Kind);
        Assert.Equal(404, (int)gone.Status);
    }
}
