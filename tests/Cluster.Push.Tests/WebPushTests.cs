using System.Net;
using System.Net.Http.Json;
using System.Text;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>Web Push end to end: a real silo wakes offline devices through a local, standards-checking push service.</summary>
public sealed class WebPushTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Wake_OfflineDevice_OneDecryptableContentFreePushThenCoalescedUntilReconnect()
    {
        await using var service = await WebPushService.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await Push.SiloAsync(time, Cancel);
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);
        var (alice, bob, sender, receiver) = pair;

        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "secret words"), Cancel);
        var first = await service.NextAsync(Cancel);
        for (var i = 0; i < 10; i++)
        {
            await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], $"more {i}"), Cancel);
        }

        // An urgent send bypasses the coalescing; with one worker the queue is in order, so had any of the ten pushed,
        // it would come before this one.
        await Messages.SendOkAsync(sender, bob.AccountId, Push.Urgent(Messages.Body([bob], "urgent")), Cancel);
        var urgent = await service.NextAsync(Cancel);

        await using (var socket = await TestSocket.ConnectAsync(silo, bob, Cancel))
        {
            await socket.ReadBacklogAsync();
        }

        await Push.OfflineAsync(silo, bob);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "after reconnect"), Cancel);
        var again = await service.NextAsync(Cancel);

        Assert.Equal("/push/sub-1", first.Path);
        Assert.Equal("aes128gcm", first.ContentEncoding);
        Assert.Equal("normal", first.Urgency);
        Assert.Equal("86400", first.Ttl);
        Assert.Equal("{\"v\":1,\"kind\":\"wake\"}", Encoding.UTF8.GetString(first.Plaintext));
        Assert.DoesNotContain(alice.AccountId, Encoding.UTF8.GetString(first.Plaintext), StringComparison.Ordinal);
        Assert.Equal("high", urgent.Urgency);
        Assert.Equal("wake", (string?)again.Json["kind"]);
        Assert.False(service.TryTake(out _));
    }

    [Fact]
    public async Task Wake_CoalescingIntervalPassed_PushesAgain()
    {
        await using var service = await WebPushService.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await Push.SiloAsync(time, Cancel);
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);
        var (_, bob, sender, _) = pair;

        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "one"), Cancel);
        await service.NextAsync(Cancel);
        time.Advance(TimeSpan.FromSeconds(61));
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "two"), Cancel);
        var second = await service.NextAsync(Cancel);

        Assert.Equal("normal", second.Urgency);
    }

    [Theory]
    [MemberData(nameof(Push.Engines), MemberType = typeof(Push))]
    public async Task Gone_ServiceAnswers410_SubscriptionRemoved(StorageKind engine)
    {
        await using var service = await WebPushService.StartAsync();
        service.Status = StatusCodes.Status410Gone;
        await using var cluster = await PushCluster.StartAsync(engine, 1, new FakeTimeProvider(DateTimeOffset.UtcNow), null, Cancel);
        using var pair = await Push.PairAsync(cluster.First, service.Subscription(), Cancel);
        using (var before = await pair.Receiver.GetAsync("/v1/push/subscriptions/1", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        await service.NextAsync(Cancel);

        await Push.SubscriptionGoneAsync(pair.Receiver, Cancel);
    }

    [Fact]
    public async Task Gone_ServiceAnswers404_SubscriptionRemoved()
    {
        await using var service = await WebPushService.StartAsync();
        service.Status = StatusCodes.Status404NotFound;
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel);
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        await service.NextAsync(Cancel);

        await Push.SubscriptionGoneAsync(pair.Receiver, Cancel);
    }

    [Fact]
    public async Task Send_PushServiceHangs_MessagesStillAnswered()
    {
        await using var service = await WebPushService.StartAsync();
        service.Hang = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel);
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);
        var (_, bob, sender, receiver) = pair;

        await Messages.SendOkAsync(sender, bob.AccountId, Push.Urgent(Messages.Body([bob], "first")), Cancel);
        await service.FirstRequest;
        for (var i = 0; i < 5; i++)
        {
            await Messages.SendOkAsync(sender, bob.AccountId, Push.Urgent(Messages.Body([bob], $"while hung {i}")), Cancel);
        }

        // Every send was answered while the push service still holds the first wake-up.
        Assert.False(service.Hang.Task.IsCompleted);
        var page = await receiver.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/v1/messages", Cancel);
        Assert.Equal(6, page!["envelopes"]!.AsArray().Count);
    }
}
