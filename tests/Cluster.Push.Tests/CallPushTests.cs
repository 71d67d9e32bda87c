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
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, new() { ["Calls:RingTimeout"] = "00:00:45" });
        await using var call = await Push.CallSetupAsync(silo, service.Subscription(), Cancel);

        var callId = await Push.CallAsync(call.Caller, [call.CalleePrimary, call.CalleeCompanion], Cancel);
        var ring = await service.NextAsync(Cancel);
        await Push.AnswerAsync(call.Primary, callId, Cancel);
        var cancel = await service.NextAsync(Cancel);

        Assert.Equal("high", ring.Urgency);
        Assert.Equal("45", ring.Ttl);
        Assert.Equal("call", (string?)ring.Json["kind"]);
        Assert.Equal(callId, (string?)ring.Json["callId"]);
        Assert.Equal(3, ring.Json.Count);
        Assert.Equal("callEnded", (string?)cancel.Json["kind"]);
        Assert.Equal(callId, (string?)cancel.Json["callId"]);
        Assert.Equal("high", cancel.Urgency);
        Assert.Equal(ring.Topic, cancel.Topic);
        Assert.NotNull(ring.Topic);
    }
}
