using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>
/// A device woken by a call push connects after the live <c>callOffer</c> went out: it fetches its own sealed offer
/// with <c>GET /v1/calls/{callId}</c> while the call rings, and only then (docs/protocol.md, "Fetching a call offer").
/// </summary>
public sealed class CallOfferTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(Push.Engines), MemberType = typeof(Push))]
    public async Task Offer_WokenCompanionWhileRinging_OwnOfferThenAnswersAndOthersRefused(StorageKind engine)
    {
        await using var service = await WebPushService.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = await PushCluster.StartAsync(engine, 1, time, new() { ["Calls:RingTimeout"] = "00:00:45" }, Cancel);
        var silo = cluster.First;
        await using var call = await Push.CallSetupAsync(silo, service.Subscription(), Cancel);

        var callId = await Push.CallAsync(call.Caller, [call.CalleePrimary, call.CalleeCompanion], Cancel);
        var ring = await service.NextAsync(Cancel);
        var woken = (string)ring.Json["callId"]!;
        var offer = await call.Companion.GetFromJsonAsync<JsonObject>($"/v1/calls/{woken}", Cancel);
        var primaryOffer = await call.Primary.GetFromJsonAsync<JsonObject>($"/v1/calls/{woken}", Cancel);
        using var byCaller = await call.Caller.GetAsync($"/v1/calls/{woken}", Cancel);
        await Push.AnswerAsync(call.Companion, woken, Cancel);
        using var afterAnswer = await call.Primary.GetAsync($"/v1/calls/{woken}", Cancel);
        using var unknown = await call.Companion.GetAsync($"/v1/calls/{new string('0', 32)}", Cancel);
        using var malformed = await call.Companion.GetAsync("/v1/calls/NOT-A-CALL", Cancel);

        Assert.Equal(callId, woken);
        Assert.Equal(callId, (string?)offer!["callId"]);
        Assert.Equal(Push.OfferFor(call.CalleeCompanion), (string?)offer["payload"]);
        Assert.Equal(1, (int?)offer["fromDevice"]);
        Assert.NotNull((string?)offer["from"]);
        Assert.Equal(time.GetUtcNow().AddSeconds(45).ToUnixTimeMilliseconds(), (long?)offer["ringsUntil"]);
        Assert.Equal(Push.OfferFor(call.CalleePrimary), (string?)primaryOffer!["payload"]);
        Assert.Equal(HttpStatusCode.Forbidden, byCaller.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, afterAnswer.StatusCode);
        Assert.Equal("call_not_ringing", (string?)(await afterAnswer.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    [Fact]
    public async Task Offer_CallerHungUp_409CallEnded()
    {
        await using var service = await WebPushService.StartAsync();
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel);
        await using var call = await Push.CallSetupAsync(silo, service.Subscription(), Cancel);

        var callId = await Push.CallAsync(call.Caller, [call.CalleePrimary, call.CalleeCompanion], Cancel);
        await service.NextAsync(Cancel);
        using (var hangup = await call.Caller.PostAsync($"/v1/calls/{callId}/hangup", null, Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, hangup.StatusCode);
        }

        using var ended = await call.Companion.GetAsync($"/v1/calls/{callId}", Cancel);
        var error = await ended.Content.ReadFromJsonAsync<JsonObject>(Cancel);

        Assert.Equal(HttpStatusCode.Conflict, ended.StatusCode);
        Assert.Equal("call_ended", (string?)error!["error"]);
        Assert.Equal("callEnded", (string?)(await service.NextAsync(Cancel)).Json["kind"]);
    }

    [Fact]
    public async Task Sdk_GetCallOffer_OwnOfferThenCallNotRingingAfterAnswer()
    {
        await using var service = await WebPushService.StartAsync();
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel);
        await using var call = await Push.CallSetupAsync(silo, service.Subscription(), Cancel);
        var device = call.CalleeCompanion;
        using var client = new Cluster.Client.ClusterClient(call.Companion, new Cluster.Client.DeviceCredentials(device.AccountId, device.DeviceId, device.Password));

        var callId = await Push.CallAsync(call.Caller, [call.CalleePrimary, call.CalleeCompanion], Cancel);
        var offer = await client.GetCallOfferAsync(callId, Cancel);
        await Push.AnswerAsync(call.Primary, callId, Cancel);
        var late = await Assert.ThrowsAsync<Cluster.Client.ClusterApiException>(() => client.GetCallOfferAsync(callId, Cancel));

        Assert.Equal(Push.OfferFor(device), Convert.ToBase64String(offer.Payload));
        Assert.Equal(callId, offer.CallId);
        Assert.Equal(409, (int)late.Status);
    }
}
