using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Cluster.Grains.Observability;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>
/// What a push service's failures do, for every kind: transient answers are retried (with doubling delays on the
/// cluster clock) up to the attempt limit and then given up with the subscription kept; a hung request is given up
/// after that kind's own timeout; a hung or failing service never holds up <c>PUT /v1/messages</c>, and past the
/// bounded queue a wake-up is dropped and counted; a call that ends while it rings is cancelled through every kind.
/// </summary>
public sealed class FailureHandlingTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(AnyPushService.Kinds), MemberType = typeof(AnyPushService))]
    public async Task Transient_EveryAttemptFails_RetriedUpToMaxAttemptsThenGivenUpAndKept(string kind)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = await AnyPushService.StartAsync(kind, time);
        service.FailNext(3);
        var extra = service.SiloSettings();
        extra["Push:WebPush:MaxAttempts"] = "3";
        await using var silo = await Push.SiloAsync(time, Cancel, extra);
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        var attempts = new[] { await service.NextAsync(Cancel), await service.NextAsync(Cancel), await service.NextAsync(Cancel) };
        // One worker sends in order: a fourth attempt would come before this urgent wake-up.
        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Push.Urgent(Messages.Body([pair.Bob], "next")), Cancel);
        var next = await service.NextAsync(Cancel);
        using var kept = await pair.Receiver.GetAsync("/v1/push/subscriptions/1", Cancel);

        Assert.All(attempts, a => Assert.Equal(new AnyPush("wake", false, null), a));
        Assert.Equal(new AnyPush("wake", true, null), next);
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
    }

    [Fact]
    public async Task Backoff_TwoTransientFailures_RetryDelaysDoubleOnTheClusterClock()
    {
        var time = new TimerWatch();
        await using var service = await WebPushService.StartAsync();
        service.Statuses.Enqueue(503);
        service.Statuses.Enqueue(503);
        await using var silo = await Push.SiloAsync(time, Cancel, new() { ["Push:WebPush:RetryDelay"] = "00:07:00" });
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        await service.NextAsync(Cancel);
        await time.ArmedAsync(TimeSpan.FromMinutes(7), Cancel);
        var retriedBeforeTheDelay = service.TryTake(out _);
        time.Advance(TimeSpan.FromMinutes(7));
        await service.NextAsync(Cancel);
        await time.ArmedAsync(TimeSpan.FromMinutes(14), Cancel);
        var retriedBeforeTheDoubledDelay = service.TryTake(out _);
        time.Advance(TimeSpan.FromMinutes(14));
        var third = await service.NextAsync(Cancel);

        Assert.False(retriedBeforeTheDelay);
        Assert.False(retriedBeforeTheDoubledDelay);
        Assert.Equal("wake", (string?)third.Json["kind"]);
    }

    [Theory]
    [MemberData(nameof(AnyPushService.Kinds), MemberType = typeof(AnyPushService))]
    public async Task Timeout_ServiceHangs_RequestGivenUpAfterItsKindsTimeoutAndRetried(string kind)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = await AnyPushService.StartAsync(kind, time);
        service.HangRequests = 1;
        var extra = service.SiloSettings();
        // Every other kind's requests may take five minutes: only this kind's own setting ends the hang within NextAsync's 30 s.
        extra["Push:WebPush:Timeout"] = extra["Push:Fcm:Timeout"] = extra["Push:Apns:Timeout"] = "00:05:00";
        extra[service.TimeoutSetting] = "00:00:00.500";
        await using var silo = await Push.SiloAsync(time, Cancel, extra);
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        await service.Held.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        var retried = await service.NextAsync(Cancel);
        await service.Abandoned.WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        Assert.Equal(new AnyPush("wake", false, null), retried);
    }

    [Theory]
    [InlineData("webPush", true)]
    [InlineData("webPush", false)]
    [InlineData("fcm", true)]
    [InlineData("fcm", false)]
    [InlineData("apns", true)]
    [InlineData("apns", false)]
    public async Task Send_PushServiceHangsOrFails_EverySendAnsweredAndStored(string kind, bool hangs)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = await AnyPushService.StartAsync(kind, time);
        if (hangs)
        {
            service.HangRequests = int.MaxValue;
        }
        else
        {
            service.FailNext(1000);
        }

        var extra = service.SiloSettings();
        extra["Push:WebPush:Timeout"] = extra["Push:Fcm:Timeout"] = extra["Push:Apns:Timeout"] = "00:05:00";
        await using var silo = await Push.SiloAsync(time, Cancel, extra);
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);

        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Push.Urgent(Messages.Body([pair.Bob], "first")), Cancel);
        if (hangs)
        {
            await service.Held.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        }
        else
        {
            Assert.Equal("wake", (await service.NextAsync(Cancel)).Kind);
        }

        for (var i = 0; i < 5; i++)
        {
            await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Push.Urgent(Messages.Body([pair.Bob], $"meanwhile {i}")), Cancel);
        }

        var page = await pair.Receiver.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);

        // Every send was answered while the push service held (or kept refusing) the wake-ups.
        Assert.Equal(6, page!["envelopes"]!.AsArray().Count);
        Assert.False(service.Abandoned.IsCompleted);
    }

    [Fact]
    public async Task Queue_FullWhileThePushServiceHangs_WakeUpDroppedAndCountedSendsAnswered()
    {
        using var drops = new QueueFullWatch();
        await using var service = await WebPushService.StartAsync();
        service.HangRequests = int.MaxValue;
        await using var silo = await Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, new() { ["Push:WebPush:QueueCapacity"] = "1" });
        using var pair = await Push.PairAsync(silo, service.Subscription(), Cancel);

        // The one worker holds the first wake-up at the hung service, the second waits in the queue, the third finds it full.
        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Push.Urgent(Messages.Body([pair.Bob], "held")), Cancel);
        await service.Held.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Push.Urgent(Messages.Body([pair.Bob], "queued")), Cancel);
        await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Push.Urgent(Messages.Body([pair.Bob], "dropped")), Cancel);
        await drops.QueueFull.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        var page = await pair.Receiver.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);

        Assert.Equal(3, page!["envelopes"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("webPush", "hangup")]
    [InlineData("webPush", "timeout")]
    [InlineData("fcm", "hangup")]
    [InlineData("fcm", "timeout")]
    [InlineData("apns", "hangup")]
    [InlineData("apns", "timeout")]
    public async Task Call_EndsWhileTheOfflineCompanionRings_CancelPushed(string kind, string ending)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = await AnyPushService.StartAsync(kind, time);
        var extra = service.SiloSettings();
        extra["Calls:RingTimeout"] = "00:00:45";
        await using var silo = await Push.SiloAsync(time, Cancel, extra);
        await using var call = await Push.CallSetupAsync(silo, service.Subscription(), Cancel);

        var callId = await Push.CallAsync(call.Caller, [call.CalleePrimary, call.CalleeCompanion], Cancel);
        var ring = await service.NextAsync(Cancel);
        if (ending == "hangup")
        {
            using var hangup = await call.Caller.PostAsync($"/v1/calls/{callId}/hangup", null, Cancel);
            Assert.Equal(HttpStatusCode.NoContent, hangup.StatusCode);
        }
        else
        {
            time.Advance(TimeSpan.FromSeconds(45));
        }

        // A ring that times out also stores a missed-call notice, which wakes the companion like any envelope.
        var after = await service.NextAsync(Cancel);
        var cancel = after.Kind == "wake" && ending == "timeout" ? await service.NextAsync(Cancel) : after;

        Assert.Equal(new AnyPush("call", true, callId), ring);
        Assert.Equal("callEnded", cancel.Kind);
        Assert.Equal(callId, cancel.CallId);
    }

    /// <summary>A fake clock that reports each timer created on it, by due time (a retry's delay is one).</summary>
    private sealed class TimerWatch() : FakeTimeProvider(DateTimeOffset.UtcNow)
    {
        private readonly Channel<TimeSpan> created = Channel.CreateUnbounded<TimeSpan>();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            created.Writer.TryWrite(dueTime);
            return base.CreateTimer(callback, state, dueTime, period);
        }

        /// <summary>Waits until a timer due in exactly <paramref name="due"/> is created (30 s at most).</summary>
        public async Task ArmedAsync(TimeSpan due, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            while (await created.Reader.ReadAsync(timeout.Token) != due)
            {
            }
        }
    }

    /// <summary>Completes <see cref="QueueFull"/> on the first wake-up dropped because a silo's push queue was full.</summary>
    private sealed class QueueFullWatch : IDisposable
    {
        private readonly MeterListener listener = new();
        private readonly TaskCompletionSource full = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public QueueFullWatch()
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ClusterMetrics.MeterName && instrument.Name == "cluster_push_dropped_total")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag is { Key: "reason", Value: "queue_full" })
                    {
                        full.TrySetResult();
                    }
                }
            });
            listener.Start();
        }

        public Task QueueFull => full.Task;

        public void Dispose() => listener.Dispose();
    }
}
