using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Calls;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans;
using Orleans.Runtime;

namespace Cluster.Calls.Tests;

/// <summary>Ringing timeouts on a fake clock (configured to 30 seconds, to show the setting is honoured), and restarts.</summary>
public sealed class CallTimeoutTests
{
    private static readonly TimeSpan RingTimeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static TestSiloSettings Settings(FakeTimeProvider time, string? dataPath = null) => new()
    {
        Time = time,
        DataPath = dataPath,
        Settings = new Dictionary<string, string> { ["Calls:RingTimeout"] = "00:00:30" },
    };

    [Fact]
    public async Task Timeout_NobodyAnswers_EveryoneToldAndOfflineDeviceFindsMissedCall()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(Settings(time), Cancel);
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(silo);
        var b3 = await TestAccounts.AddCompanionAsync(silo, b1);
        await using var devices = await Devices.ConnectedAsync(silo, Cancel, a1, b1, b3);
        var rangAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1, b2, b3], Calls.PayloadsFor([b1, b2, b3])), Cancel);
        await devices.Socket(b1).NextEventAsync("callOffer", callId, b1.Login);
        await devices.Socket(b3).NextEventAsync("callOffer", callId, b3.Login);

        time.Advance(RingTimeout - TimeSpan.FromSeconds(1));
        await Calls.AssertNothingElseAsync(silo, a1, devices.Socket(a1));
        time.Advance(TimeSpan.FromSeconds(1));

        foreach (var device in new[] { a1, b1, b3 })
        {
            Assert.Equal("timeout", (string?)(await devices.Socket(device).NextEventAsync("callEnded", callId, device.Login))["reason"]);
        }

        var backlog = await devices.ConnectWithBacklogAsync(b2, Cancel);
        AssertMissedCall(Assert.Single(backlog), callId, a1, b2, rangAt);
        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(devices.Client(b2), callId, "answer", Calls.NewPayload(), Cancel));
        // Devices that were connected when it rang saw the offer: they get no notice.
        var b1Inbox = await devices.Client(b1).GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);
        Assert.Empty(b1Inbox!["envelopes"]!.AsArray());
    }

    [Fact]
    public async Task Timeout_AnswerArrivesAfterDeadline_ConflictCallEnded()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(Settings(time), Cancel);
        var a1 = await TestAccounts.RegisterAsync(silo);
        var b1 = await TestAccounts.RegisterAsync(silo);
        await using var devices = await Devices.ConnectedAsync(silo, Cancel, a1, b1);
        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1], Calls.PayloadsFor([b1])), Cancel);
        await devices.Socket(b1).NextEventAsync("callOffer", callId, b1.Login);

        time.Advance(RingTimeout);
        var answer = await Calls.TryActAsync(devices.Client(b1), callId, "answer", Calls.NewPayload(), Cancel);

        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), answer);
        Assert.Equal("timeout", (string?)(await devices.Socket(a1).NextEventAsync("callEnded", callId, a1.Login))["reason"]);
        Assert.Equal("timeout", (string?)(await devices.Socket(b1).NextEventAsync("callEnded", callId, b1.Login))["reason"]);
        await Calls.AssertNothingElseAsync(silo, a1, devices.Socket(a1));
    }

    [Fact]
    public async Task Restart_RingingCallPastDeadline_ReminderEndsItAndNextActionIsCallEnded()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-calls-").FullName, "cluster.db");
        var before = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var rangAt = before.GetUtcNow().ToUnixTimeMilliseconds();
        TestDevice a1, b1, b2;
        string callId;
        await using (var silo = await TestSilo.StartAsync(Settings(before, dataPath), Cancel))
        {
            a1 = await TestAccounts.RegisterAsync(silo);
            b1 = await TestAccounts.RegisterAsync(silo);
            b2 = await TestAccounts.AddCompanionAsync(silo, b1);
            await using var devices = await Devices.ConnectedAsync(silo, Cancel, b1);
            callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2])), Cancel);
            await devices.Socket(b1).NextEventAsync("callOffer", callId, b1.Login);
        }

        // The silo is gone mid-ring; its successor starts after the deadline has passed.
        var after = new FakeTimeProvider(before.GetUtcNow() + TimeSpan.FromMinutes(2));
        await using var restarted = await TestSilo.StartAsync(Settings(after, dataPath), Cancel);
        var call = restarted.Grains.GetGrain<ICallGrain>(callId);
        var reminder = await restarted.Services.GetRequiredService<IReminderTable>().ReadRow(call.GetGrainId(), "call", Cancel);
        await using var again = await Devices.ConnectedAsync(restarted, Cancel, a1, b1);

        // What the reminder service does when the durable reminder comes due on whichever silo owns it.
        await call.AsReference<IRemindable>().ReceiveReminder("call", default, Cancel);

        Assert.NotNull(reminder);
        Assert.Equal("timeout", (string?)(await again.Socket(a1).NextEventAsync("callEnded", callId, a1.Login))["reason"]);
        Assert.Equal("timeout", (string?)(await again.Socket(b1).NextEventAsync("callEnded", callId, b1.Login))["reason"]);
        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(again.Client(a1), callId, "hangup", null, Cancel));
        var backlog = await again.ConnectWithBacklogAsync(b2, Cancel);
        AssertMissedCall(Assert.Single(backlog), callId, a1, b2, rangAt);
    }

    [Fact]
    public async Task Restart_RingingCallPastDeadline_FirstRequestFindsItEnded()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-calls-").FullName, "cluster.db");
        var before = new FakeTimeProvider(DateTimeOffset.UtcNow);
        TestDevice a1, b1;
        string callId;
        await using (var silo = await TestSilo.StartAsync(Settings(before, dataPath), Cancel))
        {
            a1 = await TestAccounts.RegisterAsync(silo);
            b1 = await TestAccounts.RegisterAsync(silo);
            using var caller = a1.CreateClient(silo);
            callId = await Calls.StartOkAsync(caller, Calls.StartBody(b1.AccountId, [b1], Calls.PayloadsFor([b1])), Cancel);
        }

        await using var restarted = await TestSilo.StartAsync(Settings(new FakeTimeProvider(before.GetUtcNow() + TimeSpan.FromMinutes(2)), dataPath), Cancel);
        await using var devices = new Devices(restarted);

        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(devices.Client(b1), callId, "answer", Calls.NewPayload(), Cancel));
        var backlog = await devices.ConnectWithBacklogAsync(b1, Cancel);
        AssertMissedCall(Assert.Single(backlog), callId, a1, b1, before.GetUtcNow().ToUnixTimeMilliseconds());
    }

    private static void AssertMissedCall(JsonObject envelope, string callId, TestDevice caller, TestDevice callee, long rangAt)
    {
        Assert.Equal(0, (int)envelope["type"]!);
        Assert.Equal(caller.AccountId, (string?)envelope["sourceAccount"]);
        Assert.Equal(caller.DeviceId, (int)envelope["sourceDevice"]!);
        Assert.Equal(callee.DeviceId, (int)envelope["destinationDevice"]!);
        var notice = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String((string)envelope["content"]!)))!.AsObject();
        Assert.Equal("missedCall", (string?)notice["notice"]);
        Assert.Equal(callId, (string?)notice["callId"]);
        Assert.Equal(rangAt, (long)notice["at"]!);
    }
}
