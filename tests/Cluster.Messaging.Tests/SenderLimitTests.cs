using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Messaging.Tests;

/// <summary>Sends limited per sending device and per (sending account, destination account).</summary>
public sealed class SenderLimitTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Send_OverPerDestinationBurst_TooManyRequestsUntilRefilled()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            time, ("SenderLimits:MessagesPerDestinationBurst", "3"), ("SenderLimits:MessagesPerDestinationRefillSeconds", "1")), Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var aliceLaptop = await TestAccounts.AddCompanionAsync(silo, alice);
        var bob = await TestAccounts.RegisterAsync(silo);
        var carol = await TestAccounts.RegisterAsync(silo);
        using var aliceHttp = alice.CreateClient(silo);
        using var laptopHttp = aliceLaptop.CreateClient(silo);

        for (var i = 0; i < 3; i++)
        {
            await Messages.SendOkAsync(aliceHttp, bob.AccountId, Messages.Body([bob], $"m{i}"), Cancel);
        }

        using var limited = await Messages.SendAsync(aliceHttp, bob.AccountId, Messages.Body([bob], "refused"), Cancel);
        using var fromOtherDevice = await Messages.SendAsync(laptopHttp, bob.AccountId, Messages.Body([bob], "refused too"), Cancel);
        using var toOtherAccount = await Messages.SendAsync(aliceHttp, carol.AccountId, Messages.Body([carol], "to carol"), Cancel);
        var syncCopies = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var sync = await Messages.SendAsync(aliceHttp, alice.AccountId, Messages.Body([aliceLaptop], $"sync {i}"), Cancel);
            syncCopies.Add(sync.StatusCode);
        }

        time.Advance(TimeSpan.FromSeconds(1));
        using var refilled = await Messages.SendAsync(aliceHttp, bob.AccountId, Messages.Body([bob], "m3"), Cancel);
        using var bobHttp = bob.CreateClient(silo);
        var inbox = await bobHttp.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);

        await RateLimits.AssertLimitedAsync(limited, "messages_destination", 1);
        await RateLimits.AssertLimitedAsync(fromOtherDevice, "messages_destination", 1);
        Assert.Equal(HttpStatusCode.OK, toOtherAccount.StatusCode);
        Assert.All(syncCopies, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(HttpStatusCode.OK, refilled.StatusCode);
        Assert.Equal(
            ["m0 for " + bob.Login, "m1 for " + bob.Login, "m2 for " + bob.Login, "m3 for " + bob.Login],
            inbox!["envelopes"]!.AsArray().Select(e => Messages.ContentOf(e!.AsObject())));
    }

    [Fact]
    public async Task Send_OverPerDeviceBurst_TooManyRequests()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null, ("SenderLimits:MessagesPerDeviceBurst", "3"), ("SenderLimits:MessagesPerDeviceRefillSeconds", "2")), Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var aliceLaptop = await TestAccounts.AddCompanionAsync(silo, alice);
        var contacts = new List<TestDevice>();
        for (var i = 0; i < 4; i++)
        {
            contacts.Add(await TestAccounts.RegisterAsync(silo));
        }

        using var aliceHttp = alice.CreateClient(silo);
        using var laptopHttp = aliceLaptop.CreateClient(silo);

        foreach (var contact in contacts.Take(3))
        {
            await Messages.SendOkAsync(aliceHttp, contact.AccountId, Messages.Body([contact], "hi"), Cancel);
        }

        using var limited = await Messages.SendAsync(aliceHttp, contacts[3].AccountId, Messages.Body([contacts[3]], "hi"), Cancel);
        using var otherDevice = await Messages.SendAsync(laptopHttp, contacts[3].AccountId, Messages.Body([contacts[3]], "hi"), Cancel);

        await RateLimits.AssertLimitedAsync(limited, "messages_device", 2);
        Assert.Equal(HttpStatusCode.OK, otherDevice.StatusCode);
    }
}
