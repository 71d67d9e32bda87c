using System.Net;
using Cluster.Testing;

namespace Cluster.Calls.Tests;

/// <summary>Call starts limited per calling device and per (calling account, callee account).</summary>
public sealed class CallLimitTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StartCall_OverPerDestinationBurst_TooManyRequests()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null, ("SenderLimits:CallsPerDestinationBurst", "2"), ("SenderLimits:CallsPerDestinationRefillSeconds", "30")), Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        var carol = await TestAccounts.RegisterAsync(silo);
        using var aliceHttp = alice.CreateClient(silo);

        await Calls.StartOkAsync(aliceHttp, Calls.StartBody(bob.AccountId, [bob], Calls.PayloadsFor([bob])), Cancel);
        await Calls.StartOkAsync(aliceHttp, Calls.StartBody(bob.AccountId, [bob], Calls.PayloadsFor([bob])), Cancel);
        using var limited = await Calls.StartAsync(aliceHttp, Calls.StartBody(bob.AccountId, [bob], Calls.PayloadsFor([bob])), Cancel);
        using var otherCallee = await Calls.StartAsync(aliceHttp, Calls.StartBody(carol.AccountId, [carol], Calls.PayloadsFor([carol])), Cancel);

        await RateLimits.AssertLimitedAsync(limited, "calls_destination", 30);
        Assert.Equal(HttpStatusCode.Created, otherCallee.StatusCode);
    }

    [Fact]
    public async Task StartCall_OverPerDeviceBurst_TooManyRequests()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null, ("SenderLimits:CallsPerDeviceBurst", "2"), ("SenderLimits:CallsPerDeviceRefillSeconds", "10")), Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var callees = new List<TestDevice>();
        for (var i = 0; i < 3; i++)
        {
            callees.Add(await TestAccounts.RegisterAsync(silo));
        }

        using var aliceHttp = alice.CreateClient(silo);
        await Calls.StartOkAsync(aliceHttp, Calls.StartBody(callees[0].AccountId, [callees[0]], Calls.PayloadsFor([callees[0]])), Cancel);
        await Calls.StartOkAsync(aliceHttp, Calls.StartBody(callees[1].AccountId, [callees[1]], Calls.PayloadsFor([callees[1]])), Cancel);
        using var limited = await Calls.StartAsync(aliceHttp, Calls.StartBody(callees[2].AccountId, [callees[2]], Calls.PayloadsFor([callees[2]])), Cancel);

        await RateLimits.AssertLimitedAsync(limited, "calls_device", 10);
    }

    [Fact]
    public async Task RelayIce_OverPerDeviceBurst_TooManyRequests()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null, ("SenderLimits:IcePerDeviceBurst", "2"), ("SenderLimits:IcePerDeviceRefillSeconds", "3")), Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var aliceHttp = alice.CreateClient(silo);
        using var bobHttp = bob.CreateClient(silo);
        var callId = await Calls.StartOkAsync(aliceHttp, Calls.StartBody(bob.AccountId, [bob], Calls.PayloadsFor([bob])), Cancel);
        using var answered = await Calls.ActAsync(bobHttp, callId, "answer", Calls.NewPayload(), Cancel);

        var relayed = new List<HttpStatusCode>();
        for (var i = 0; i < 2; i++)
        {
            using var ice = await Calls.ActAsync(aliceHttp, callId, "ice", Calls.NewPayload(), Cancel);
            relayed.Add(ice.StatusCode);
        }

        using var limited = await Calls.ActAsync(aliceHttp, callId, "ice", Calls.NewPayload(), Cancel);
        using var fromCallee = await Calls.ActAsync(bobHttp, callId, "ice", Calls.NewPayload(), Cancel);

        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.All(relayed, s => Assert.Equal(HttpStatusCode.NoContent, s));
        await RateLimits.AssertLimitedAsync(limited, "ice_device", 3);
        Assert.Equal(HttpStatusCode.NoContent, fromCallee.StatusCode);
    }
}
