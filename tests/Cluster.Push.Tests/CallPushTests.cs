using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>Calls to a device without a socket ring it through Web Push, and the ring is cancelled when the call is answered elsewhere.</summary>
public sealed class CallPushTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Call_OfflineCompanion_HighPriorityRingWithinRingTimeoutThenCancelAfterAnswerElsewhere()
    {
        await using var service = await WebPushService.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await Push.SiloAsync(time, Cancel, new() { ["Calls:RingTimeout"] = "00:00:45" });
        var a1 = await TestAccounts.RegisterAsync(silo);
        var b1 = await TestAccounts.RegisterAsync(silo);
        var b2 = await TestAccounts.AddCompanionAsync(silo, b1);
        using var caller = a1.CreateClient(silo);
        using var primary = b1.CreateClient(silo);
        using var companion = b2.CreateClient(silo);
        await Push.SubscribeAsync(companion, service.Subscription(), Cancel);
        await using var b1Socket = await TestSocket.ConnectAsync(silo, b1, Cancel);
        await b1Socket.ReadBacklogAsync();

        using var started = await caller.PostAsJsonAsync("/v1/calls", new JsonObject
        {
            ["to"] = b1.AccountId,
            ["offers"] = new JsonArray([.. new[] { b1, b2 }.Select(d => (JsonNode)new JsonObject
            {
                ["deviceId"] = d.DeviceId,
                ["registrationId"] = d.RegistrationId,
                ["payload"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            })]),
        }, Cancel);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var callId = (string)(await started.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["callId"]!;
        var ring = await service.NextAsync(Cancel);
        using var answered = await primary.PostAsJsonAsync($"/v1/calls/{callId}/answer", new JsonObject { ["payload"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)) }, Cancel);
        var cancel = await service.NextAsync(Cancel);

        Assert.Equal("high", ring.Urgency);
        Assert.Equal("45", ring.Ttl);
        Assert.Equal("call", (string?)ring.Json["kind"]);
        Assert.Equal(callId, (string?)ring.Json["callId"]);
        Assert.Equal(3, ring.Json.Count);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("callEnded", (string?)cancel.Json["kind"]);
        Assert.Equal(callId, (string?)cancel.Json["callId"]);
        Assert.Equal("high", cancel.Urgency);
        Assert.Equal(ring.Topic, cancel.Topic);
        Assert.NotNull(ring.Topic);
    }
}
