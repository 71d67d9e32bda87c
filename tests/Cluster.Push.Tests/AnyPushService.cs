using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Push.Tests;

/// <summary>One push as any of the fakes received it, in the terms the tests of every kind compare.</summary>
internal sealed record AnyPush(string Kind, bool HighPriority, string? CallId);

/// <summary>
/// One of the three local push services (<see cref="WebPushService"/>, <see cref="FcmService"/>,
/// <see cref="ApnsService"/>) behind one face, for the failure-handling tests that must hold for every kind: the silo
/// settings that turn it on, a device's subscription to it, its timeout setting, transient failures and hangs.
/// </summary>
internal sealed class AnyPushService : IAsyncDisposable
{
    private readonly WebPushService? web;
    private readonly FcmService? fcm;
    private readonly ApnsService? apns;

    private AnyPushService(WebPushService? web, FcmService? fcm, ApnsService? apns) => (this.web, this.fcm, this.apns) = (web, fcm, apns);

    public static TheoryData<string> Kinds() => ["webPush", "fcm", "apns"];

    public static async Task<AnyPushService> StartAsync(string kind, TimeProvider time) => kind switch
    {
        "webPush" => new AnyPushService(await WebPushService.StartAsync(), null, null),
        "fcm" => new AnyPushService(null, await FcmService.StartAsync(), null),
        _ => new AnyPushService(null, null, await ApnsService.StartAsync(time)),
    };

    /// <summary>The setting that bounds one request to this kind's service.</summary>
    public string TimeoutSetting => web is not null ? "Push:WebPush:Timeout" : fcm is not null ? "Push:Fcm:Timeout" : "Push:Apns:Timeout";

    /// <summary>How many of the next requests hang until the silo gives up on them.</summary>
    public int HangRequests
    {
        set
        {
            if (web is not null)
            {
                web.HangRequests = value;
            }
            else if (fcm is not null)
            {
                fcm.HangRequests = value;
            }
            else
            {
                apns!.HangRequests = value;
            }
        }
    }

    public Task Held => web?.Held ?? fcm?.Held ?? apns!.Held;

    public Task Abandoned => web?.Abandoned ?? fcm?.Abandoned ?? apns!.Abandoned;

    /// <summary>Silo settings that turn this kind on against the fake (Web Push is on in every push test silo).</summary>
    public Dictionary<string, string> SiloSettings() => web is not null ? [] : fcm?.SiloSettings() ?? apns!.SiloSettings();

    public JsonObject Subscription() =>
        web?.Subscription() ?? (fcm is not null ? FcmService.Subscription(FcmService.NewToken()) : ApnsService.Subscription(ApnsService.NewToken()));

    /// <summary>The next <paramref name="count"/> valid pushes are answered 503, as the provider documents a transient outage.</summary>
    public void FailNext(int count)
    {
        for (var i = 0; i < count; i++)
        {
            web?.Statuses.Enqueue(503);
            fcm?.Answers.Enqueue((503, "UNAVAILABLE"));
            apns?.Answers.Enqueue((503, "ServiceUnavailable"));
        }
    }

    public async Task<AnyPush> NextAsync(CancellationToken cancellationToken)
    {
        if (web is not null)
        {
            var push = await web.NextAsync(cancellationToken);
            return new AnyPush((string)push.Json["kind"]!, push.Urgency == "high", (string?)push.Json["callId"]);
        }

        if (fcm is not null)
        {
            var push = await fcm.NextAsync(cancellationToken);
            return new AnyPush((string)push.Data["kind"]!, push.Priority == "high", (string?)push.Data["callId"]);
        }

        var notification = await apns!.NextAsync(cancellationToken);
        return new AnyPush((string)notification.Payload["kind"]!, notification.Priority == 10, (string?)notification.Payload["callId"]);
    }

    /// <summary>Whether a push was accepted and not taken yet.</summary>
    public bool AnyWaiting() => web?.TryTake(out _) ?? fcm?.TryTake(out _) ?? apns!.TryTake(out _);

    public async ValueTask DisposeAsync()
    {
        if (web is not null)
        {
            await web.DisposeAsync();
        }

        if (fcm is not null)
        {
            await fcm.DisposeAsync();
        }

        if (apns is not null)
        {
            await apns.DisposeAsync();
        }
    }
}
