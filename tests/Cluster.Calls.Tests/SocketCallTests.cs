using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Calls.Tests;

/// <summary>
/// The call requests over the device socket (<c>startCall</c>, <c>answerCall</c>, <c>rejectCall</c>, <c>hangupCall</c>,
/// <c>relayIce</c>) answer exactly what their <c>/v1/calls</c> routes answer (status, body, Retry-After), and share
/// their rate limits with HTTP.
/// </summary>
[Collection(SharedSilo.Name)]
public sealed class SocketCallTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StartCallOverSocket_EachCase_SameAnswerAsHttp()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        using var http = a1.CreateClient(Silo);
        await using var socket = await Calls.ConnectAsync(Silo, a1, Cancel);
        var stale = Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2]));
        stale["offers"]![1]!["registrationId"] = b2.RegistrationId + 1;
        var emptyPayload = Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2]));
        emptyPayload["offers"]![0]!["payload"] = "";
        var wrongType = Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2]));
        wrongType["offers"]![0]!["deviceId"] = "one";
        var tooLarge = Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2]));
        tooLarge["offers"]![0]!["payload"] = Convert.ToBase64String(new byte[(64 * 1024) + 1]);
        var cases = new (string What, JsonNode Body, int Status)[]
        {
            ("offers for every callee device", Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2])), 201),
            ("a device left out", Calls.StartBody(b1.AccountId, [b1], Calls.PayloadsFor([b1])), 409),
            ("a registration id not current", stale, 410),
            ("an unknown account", Calls.StartBody(TestAccounts.NewAccountId(), [b1], Calls.PayloadsFor([b1])), 404),
            ("a callee that is not a number", Calls.StartBody("bob", [b1], Calls.PayloadsFor([b1])), 400),
            ("no callee", new JsonObject { ["offers"] = new JsonArray() }, 400),
            ("no offers", new JsonObject { ["to"] = b1.AccountId }, 400),
            ("an empty payload", emptyPayload, 400),
            ("a member of the wrong type", wrongType, 400),
            ("a body that is not an object", new JsonArray(), 400),
            ("a payload over 64 KiB", tooLarge, 413),
        };

        foreach (var (what, body, status) in cases)
        {
            var overHttp = await SocketRequestFrames.HttpAsync(http, HttpMethod.Post, "/v1/calls", body, Cancel);
            var overSocket = await SocketRequestFrames.AnswerAsync(socket, "startCall", null, body);
            Assert.True(status == overHttp.Status, $"{what}: HTTP answered {overHttp.Status} {overHttp.Body?.ToJsonString()}");
            SocketRequestFrames.SameAnswer(overHttp, overSocket, what, "callId");
            if (status == 201)
            {
                Assert.Matches("^[0-9a-f]{32}$", (string?)overSocket["body"]!["callId"]);
            }
        }
    }

    [Fact]
    public async Task CallActionsOverSocket_EachCase_SameAnswerAsHttp()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        var outsider = await TestAccounts.RegisterAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, b1, b2, outsider);
        var calls = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            calls.Add(await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2])), Cancel));
        }

        var payload = new JsonObject { ["payload"] = Convert.ToBase64String(Calls.NewPayload()) };
        var tooLarge = new JsonObject { ["payload"] = Convert.ToBase64String(new byte[(64 * 1024) + 1]) };
        var unknown = Guid.NewGuid().ToString("N");

        // The HTTP twin of each socket request acts on a twin call in the same state where the action changes it.
        await SameAsync("relayIce on a ringing call", a1, "relayIce", calls[0], "ice", payload);
        await SameAsync("answerCall by a ringing device", b1, "answerCall", calls[0], "answer", payload, calls[1]);
        await SameAsync("answerCall once another device answered", b2, "answerCall", calls[0], "answer", payload);
        await SameAsync("relayIce after the answer", a1, "relayIce", calls[0], "ice", payload);
        await SameAsync("hangupCall by a device not in the call", outsider, "hangupCall", calls[0], "hangup", null);
        await SameAsync("rejectCall once answered", b2, "rejectCall", calls[0], "reject", null);
        await SameAsync("rejectCall while ringing", b2, "rejectCall", calls[2], "reject", null, calls[3]);
        await SameAsync("hangupCall by the answering device", b1, "hangupCall", calls[0], "hangup", null, calls[1]);
        await SameAsync("hangupCall once ended", a1, "hangupCall", calls[0], "hangup", null);
        await SameAsync("answerCall of an unknown call", b1, "answerCall", unknown, "answer", payload);
        await SameAsync("rejectCall of a call id that is not one", b1, "rejectCall", "xyz", "reject", null);
        await SameAsync("relayIce of a call id that is not one", a1, "relayIce", "xyz", "ice", payload);
        await SameAsync("answerCall with an empty payload", b1, "answerCall", unknown, "answer", new JsonObject { ["payload"] = "" });
        await SameAsync("answerCall with a payload of the wrong type", b1, "answerCall", unknown, "answer", new JsonObject { ["payload"] = 5 });
        await SameAsync("answerCall without a body object", b1, "answerCall", unknown, "answer", JsonValue.Create("payload"));
        await SameAsync("relayIce with a payload over 64 KiB", a1, "relayIce", calls[0], "ice", tooLarge);

        var noCallId = await SocketRequestFrames.AnswerAsync(devices.Socket(b1), "hangupCall", null, null);
        Assert.Equal((400, "missing_field", "callId"), ((int)noCallId["status"]!, (string?)noCallId["body"]!["error"], (string?)noCallId["body"]!["field"]));

        async Task SameAsync(string what, TestDevice device, string type, string callId, string action, JsonNode? body, string? httpCallId = null)
        {
            var overSocket = await SocketRequestFrames.AnswerAsync(devices.Socket(device), type, new JsonObject { ["callId"] = callId }, body);
            var overHttp = await SocketRequestFrames.HttpAsync(devices.Client(device), HttpMethod.Post, $"/v1/calls/{httpCallId ?? callId}/{action}", body, Cancel);
            SocketRequestFrames.SameAnswer(overHttp, overSocket, what, "callId");
            if ((int)overSocket["status"]! == 200)
            {
                Assert.Equal(callId, (string?)overSocket["body"]!["callId"]);
            }
        }
    }

    [Fact]
    public async Task CallLimits_AlternatingHttpAndSocket_OneLimitForBoth()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null,
            ("SenderLimits:CallsPerDeviceBurst", "2"),
            ("SenderLimits:CallsPerDeviceRefillSeconds", "10"),
            ("SenderLimits:IcePerDeviceBurst", "2"),
            ("SenderLimits:IcePerDeviceRefillSeconds", "3")), Cancel);
        var a1 = await TestAccounts.RegisterAsync(silo);
        var callees = new List<TestDevice>();
        for (var i = 0; i < 4; i++)
        {
            callees.Add(await TestAccounts.RegisterAsync(silo));
        }

        await using var devices = await Devices.ConnectedAsync(silo, Cancel, a1, callees[0]);
        var start = (TestDevice callee) => Calls.StartBody(callee.AccountId, [callee], Calls.PayloadsFor([callee]));
        var first = await SocketRequestFrames.HttpAsync(devices.Client(a1), HttpMethod.Post, "/v1/calls", start(callees[0]), Cancel);
        var second = await SocketRequestFrames.AnswerAsync(devices.Socket(a1), "startCall", null, start(callees[1]));
        var startOverSocket = await SocketRequestFrames.AnswerAsync(devices.Socket(a1), "startCall", null, start(callees[2]));
        var startOverHttp = await SocketRequestFrames.HttpAsync(devices.Client(a1), HttpMethod.Post, "/v1/calls", start(callees[3]), Cancel);

        var callId = (string)first.Body!["callId"]!;
        var payload = new JsonObject { ["payload"] = Convert.ToBase64String(Calls.NewPayload()) };
        var answered = await SocketRequestFrames.HttpAsync(devices.Client(callees[0]), HttpMethod.Post, $"/v1/calls/{callId}/answer", payload, Cancel);
        var iceOne = await SocketRequestFrames.AnswerAsync(devices.Socket(a1), "relayIce", new JsonObject { ["callId"] = callId }, payload);
        var iceTwo = await SocketRequestFrames.HttpAsync(devices.Client(a1), HttpMethod.Post, $"/v1/calls/{callId}/ice", payload, Cancel);
        var iceOverHttp = await SocketRequestFrames.HttpAsync(devices.Client(a1), HttpMethod.Post, $"/v1/calls/{callId}/ice", payload, Cancel);
        var iceOverSocket = await SocketRequestFrames.AnswerAsync(devices.Socket(a1), "relayIce", new JsonObject { ["callId"] = callId }, payload);

        Assert.Equal((201, 201, 200), (first.Status, (int)second["status"]!, answered.Status));
        Assert.Equal((429, "calls_device", 10), (startOverHttp.Status, (string?)startOverHttp.Body!["limit"], startOverHttp.RetryAfterSeconds));
        SocketRequestFrames.SameAnswer(startOverHttp, startOverSocket, "the third call start, over the socket");
        Assert.Equal((204, 204), ((int)iceOne["status"]!, iceTwo.Status));
        Assert.Equal((429, "ice_device", 3), (iceOverHttp.Status, (string?)iceOverHttp.Body!["limit"], iceOverHttp.RetryAfterSeconds));
        SocketRequestFrames.SameAnswer(iceOverHttp, iceOverSocket, "the third ICE relay, over the socket");
    }
}
