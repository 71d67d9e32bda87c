using System.Net;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>The FCM HTTP v1 sender against a local fake of FCM and Google's token endpoint (<see cref="FcmService"/>).</summary>
public sealed class FcmTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Wake_OfflineAndroidDevice_DataOnlyMessagesOnOneCachedAccessTokenRenewedBeforeExpiry()
    {
        await using var fcm = await FcmService.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await Push.SiloAsync(time, Cancel, fcm.SiloSettings());
        var token = FcmService.NewToken();
        using var pair = await Push.PairAsync(silo, FcmService.Subscription(token), Cancel);
        var (alice, bob, sender, _) = pair;

        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "secret words"), Cancel);
        var first = await fcm.NextAsync(Cancel);
        await Messages.SendOkAsync(sender, bob.AccountId, Push.Urgent(Messages.Body([bob], "urgent")), Cancel);
        var urgent = await fcm.NextAsync(Cancel);
        // The access token lives an hour; past 55 minutes the sender fetches a new one.
        time.Advance(TimeSpan.FromMinutes(56));
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "later"), Cancel);
        var later = await fcm.NextAsync(Cancel);

        Assert.Equal(token, first.Token);
        Assert.Equal("{\"v\":\"1\",\"kind\":\"wake\"}", first.Data.ToJsonString());
        Assert.DoesNotContain(alice.AccountId, first.Data.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("normal", first.Priority);
        Assert.Equal("86400s", first.Ttl);
        Assert.Equal("wake", first.CollapseKey);
        Assert.Equal("high", urgent.Priority);
        Assert.Equal(first.AccessToken, urgent.AccessToken);
        Assert.NotEqual(first.AccessToken, later.AccessToken);
        Assert.Equal(2, fcm.TokenRequests);
    }

    [Fact]
    public async Task Call_OfflineAndroidCompanion_HighPriorityRingWithRingTtlThenCancel()
    {
        await using var fcm = await FcmService.StartAsync();
        var extra = fcm.SiloSettings();
        extra["Calls:RingTimeout"] = "00:00:45";
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, extra);
        await using var call = await Push.CallSetupAsync(silo, FcmService.Subscription(FcmService.NewToken()), Cancel);

        var callId = await Push.CallAsync(call.Caller, [call.CalleePrimary, call.CalleeCompanion], Cancel);
        var ring = await fcm.NextAsync(Cancel);
        await Push.AnswerAsync(call.Primary, callId, Cancel);
        var cancel = await fcm.NextAsync(Cancel);

        Assert.Equal($"{{\"v\":\"1\",\"kind\":\"call\",\"callId\":\"{callId}\"}}", ring.Data.ToJsonString());
        Assert.Equal("high", ring.Priority);
        Assert.Equal("45s", ring.Ttl);
        Assert.Equal("call", ring.CollapseKey);
        Assert.Equal("callEnded", (string?)cancel.Data["kind"]);
        Assert.Equal("high", cancel.Priority);
        Assert.Equal("call", cancel.CollapseKey);
    }

    [Theory]
    [InlineData(404, "UNREGISTERED")]
    [InlineData(400, "UNREGISTERED")]
    public async Task Gone_FcmSaysUnregistered_SubscriptionRemoved(int status, string errorCode)
    {
        await using var fcm = await FcmService.StartAsync();
        fcm.Answers.Enqueue((status, errorCode));
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, fcm.SiloSettings());
        using var pair = await Push.PairAsync(silo, FcmService.Subscription(FcmService.NewToken()), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        await fcm.NextAsync(Cancel);

        await Push.SubscriptionGoneAsync(pair.Receiver, Cancel);
    }

    [Fact]
    public async Task Transient_503Then429_RetriedWithTheSameMessageAndSubscriptionKept()
    {
        await using var fcm = await FcmService.StartAsync();
        fcm.Answers.Enqueue((503, "UNAVAILABLE"));
        fcm.Answers.Enqueue((429, "QUOTA_EXCEEDED"));
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, fcm.SiloSettings());
        using var pair = await Push.PairAsync(silo, FcmService.Subscription(FcmService.NewToken()), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        var attempts = new[] { await fcm.NextAsync(Cancel), await fcm.NextAsync(Cancel), await fcm.NextAsync(Cancel) };
        using var kept = await pair.Receiver.GetAsync("/v1/push/subscriptions/1", Cancel);

        Assert.All(attempts, a => Assert.Equal(attempts[0].Data.ToJsonString(), a.Data.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
        Assert.Equal(1, fcm.TokenRequests);
    }

    [Fact]
    public async Task Rejected_400InvalidArgument_GivenUpAndSubscriptionKept()
    {
        await using var fcm = await FcmService.StartAsync();
        fcm.Answers.Enqueue((400, "INVALID_ARGUMENT"));
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, fcm.SiloSettings());
        using var pair = await Push.PairAsync(silo, FcmService.Subscription(FcmService.NewToken()), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "refused"), Cancel);
        await fcm.NextAsync(Cancel);
        // One worker sends in order: the urgent wake-up comes only after the refused one was given up, not retried.
        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Push.Urgent(Messages.Body([pair.Bob], "next")), Cancel);
        var next = await fcm.NextAsync(Cancel);
        using var kept = await pair.Receiver.GetAsync("/v1/push/subscriptions/1", Cancel);

        Assert.Equal("high", next.Priority);
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
    }
}
