using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>The APNs token-based sender against a local HTTP/2 fake of the APNs provider API (<see cref="ApnsService"/>).</summary>
public sealed class ApnsTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Wake_OfflineIosDevice_ContentFreeAlertOverHttp2OnOneProviderTokenRenewedAfter50Minutes()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var apns = await ApnsService.StartAsync(time);
        await using var silo = await Push.SiloAsync(time, Cancel, apns.SiloSettings());
        var token = ApnsService.NewToken();
        using var pair = await Push.PairAsync(silo, ApnsService.Subscription(token.ToUpperInvariant()), Cancel);
        var (alice, bob, sender, _) = pair;

        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "secret words"), Cancel);
        var first = await apns.NextAsync(Cancel);
        await Messages.SendOkAsync(sender, bob.AccountId, Push.Urgent(Messages.Body([bob], "urgent")), Cancel);
        var urgent = await apns.NextAsync(Cancel);
        time.Advance(TimeSpan.FromMinutes(51));
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "later"), Cancel);
        var later = await apns.NextAsync(Cancel);

        Assert.Equal(token, first.DeviceToken);
        Assert.Equal("alert", first.PushType);
        Assert.Equal(5, first.Priority);
        Assert.Equal(ApnsService.Topic, first.Topic);
        Assert.Equal(time.GetUtcNow().AddMinutes(-51).AddDays(1).ToUnixTimeSeconds(), first.Expiration);
        Assert.Equal("{\"aps\":{\"alert\":{\"loc-key\":\"PUSH_WAKE\"},\"mutable-content\":1},\"v\":1,\"kind\":\"wake\"}", first.Payload.ToJsonString());
        Assert.DoesNotContain(alice.AccountId, first.Payload.ToJsonString(), StringComparison.Ordinal);
        Assert.Null(first.CollapseId);
        Assert.Equal(10, urgent.Priority);
        Assert.Equal(first.ProviderToken.Text, urgent.ProviderToken.Text);
        Assert.NotEqual(first.ProviderToken.Text, later.ProviderToken.Text);
        Assert.Equal(time.GetUtcNow().ToUnixTimeSeconds(), (long?)later.ProviderToken.Claims["iat"]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Call_OfflineIosCompanion_RingsThenBackgroundCancelAfterAnswerElsewhere(bool withVoipToken)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var apns = await ApnsService.StartAsync(time);
        var extra = apns.SiloSettings();
        extra["Calls:RingTimeout"] = "00:00:45";
        await using var silo = await Push.SiloAsync(time, Cancel, extra);
        var (token, voip) = (ApnsService.NewToken(), ApnsService.NewToken());
        await using var call = await Push.CallSetupAsync(silo, ApnsService.Subscription(token, withVoipToken ? voip : null), Cancel);

        var callId = await Push.CallAsync(call.Caller, [call.CalleePrimary, call.CalleeCompanion], Cancel);
        var ring = await apns.NextAsync(Cancel);
        await Push.AnswerAsync(call.Primary, callId, Cancel);
        var cancel = await apns.NextAsync(Cancel);

        Assert.Equal(withVoipToken ? voip : token, ring.DeviceToken);
        Assert.Equal(withVoipToken ? "voip" : "alert", ring.PushType);
        Assert.Equal(withVoipToken ? ApnsService.Topic + ".voip" : ApnsService.Topic, ring.Topic);
        Assert.Equal(10, ring.Priority);
        Assert.Equal(time.GetUtcNow().AddSeconds(45).ToUnixTimeSeconds(), ring.Expiration);
        Assert.Equal("call", (string?)ring.Payload["kind"]);
        Assert.Equal(callId, (string?)ring.Payload["callId"]);
        Assert.Equal(token, cancel.DeviceToken);
        Assert.Equal("background", cancel.PushType);
        Assert.Equal(5, cancel.Priority);
        Assert.Equal("{\"aps\":{\"content-available\":1},\"v\":1,\"kind\":\"callEnded\",\"callId\":\"" + callId + "\"}", cancel.Payload.ToJsonString());
        Assert.NotNull(cancel.CollapseId);
        Assert.Equal(withVoipToken ? null : cancel.CollapseId, ring.CollapseId);
    }

    [Theory]
    [InlineData(410, "Unregistered")]
    [InlineData(400, "BadDeviceToken")]
    public async Task Gone_ApnsSaysTokenGone_SubscriptionRemoved(int status, string reason)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var apns = await ApnsService.StartAsync(time);
        apns.Answers.Enqueue((status, reason));
        await using var silo = await Push.SiloAsync(time, Cancel, apns.SiloSettings());
        using var pair = await Push.PairAsync(silo, ApnsService.Subscription(ApnsService.NewToken()), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        await apns.NextAsync(Cancel);

        await Push.SubscriptionGoneAsync(pair.Receiver, Cancel);
    }

    [Fact]
    public async Task ExpiredProviderToken_403_NewTokenSignedAndRetried()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var apns = await ApnsService.StartAsync(time);
        apns.Answers.Enqueue((403, "ExpiredProviderToken"));
        await using var silo = await Push.SiloAsync(time, Cancel, apns.SiloSettings());
        using var pair = await Push.PairAsync(silo, ApnsService.Subscription(ApnsService.NewToken()), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        var refused = await apns.NextAsync(Cancel);
        var retried = await apns.NextAsync(Cancel);

        Assert.NotEqual(refused.ProviderToken.Text, retried.ProviderToken.Text);
        Assert.Equal(refused.DeviceToken, retried.DeviceToken);
    }
}
