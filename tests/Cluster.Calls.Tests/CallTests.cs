using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Calls.Tests;

[Collection(SharedSilo.Name)]
public sealed class CallTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_ThreeConnectedCalleeDevices_EachGetsOnlyItsOwnPayload()
    {
        var a1 = await TestAccounts.RegisterAsync(Silo);
        var a2 = await TestAccounts.AddCompanionAsync(Silo, a1);
        var b1 = await TestAccounts.RegisterAsync(Silo);
        var b2 = await TestAccounts.AddCompanionAsync(Silo, b1);
        var b3 = await TestAccounts.AddCompanionAsync(Silo, b1);
        TestDevice[] callees = [b1, b2, b3];
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, a2, b1, b2, b3);
        var payloads = Calls.PayloadsFor(callees);

        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, callees, payloads), Cancel);

        Assert.Matches("^[0-9a-f]{32}$", callId);
        foreach (var callee in callees)
        {
            var offer = await devices.Socket(callee).NextEventAsync("callOffer", callId, callee.Login);
            Assert.Equal(payloads[callee], Calls.Bytes(offer, "payload"));
            Assert.Equal(a1.AccountId, (string?)offer["from"]);
            Assert.Equal(a1.DeviceId, (int)offer["fromDevice"]!);
        }

        // Nobody got a second offer (another device's payload), and the caller's account heard nothing.
        foreach (var device in new[] { a1, a2, b1, b2, b3 })
        {
            await Calls.AssertNothingElseAsync(Silo, device, devices.Socket(device));
        }
    }

    [Fact]
    public async Task Start_TwoCallsToSameDevices_PayloadsNeverCross()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, b1, b2);
        var first = Calls.PayloadsFor([b1, b2]);
        var second = Calls.PayloadsFor([b1, b2]);

        var firstId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1, b2], first), Cancel);
        var secondId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b2, b1], second), Cancel);

        Assert.NotEqual(firstId, secondId);
        foreach (var callee in new[] { b1, b2 })
        {
            Assert.Equal(first[callee], Calls.Bytes(await devices.Socket(callee).NextEventAsync("callOffer", firstId, callee.Login), "payload"));
            Assert.Equal(second[callee], Calls.Bytes(await devices.Socket(callee).NextEventAsync("callOffer", secondId, callee.Login), "payload"));
        }
    }

    [Fact]
    public async Task Answer_TwoDevicesAtTheSameInstant_ExactlyOneWinsEveryTime()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        var b3 = await TestAccounts.AddCompanionAsync(Silo, b1);
        TestDevice[] callees = [b1, b2, b3];
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, b1, b2, b3);
        var wins = new Dictionary<TestDevice, int> { [b1] = 0, [b2] = 0, [b3] = 0 };

        for (var round = 0; round < 100; round++)
        {
            var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, callees, Calls.PayloadsFor(callees)), Cancel);
            foreach (var callee in callees)
            {
                await devices.Socket(callee).NextEventAsync("callOffer", callId, callee.Login);
            }

            TestDevice[] racers = [callees[round % 3], callees[(round + 1) % 3]];
            var bystander = callees[(round + 2) % 3];
            var answers = racers.ToDictionary(d => d, _ => Calls.NewPayload());
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var attempts = racers.Select(d => Task.Run(async () =>
            {
                await start.Task;
                return await Calls.TryActAsync(devices.Client(d), callId, "answer", answers[d], Cancel);
            })).ToArray();
            start.SetResult();
            var outcomes = await Task.WhenAll(attempts);

            Assert.Equal(1, outcomes.Count(o => o.Status == HttpStatusCode.OK));
            Assert.Equal(1, outcomes.Count(o => o.Status == HttpStatusCode.Conflict && o.Error == "call_not_ringing"));
            var winner = racers[Array.FindIndex(outcomes, o => o.Status == HttpStatusCode.OK)];
            var loser = racers.Single(d => d != winner);
            wins[winner]++;

            var answered = await devices.Socket(a1).NextEventAsync("callAnswered", callId, a1.Login);
            Assert.Equal(winner.DeviceId, (int)answered["byDevice"]!);
            Assert.Equal(answers[winner], Calls.Bytes(answered, "payload"));
            await devices.Socket(loser).NextEventAsync("callAnsweredElsewhere", callId, loser.Login);
            await devices.Socket(bystander).NextEventAsync("callAnsweredElsewhere", callId, bystander.Login);

            Assert.Equal((HttpStatusCode.NoContent, null), await Calls.TryActAsync(devices.Client(a1), callId, "hangup", null, Cancel));
            Assert.Equal("hangup", (string?)(await devices.Socket(a1).NextEventAsync("callEnded", callId, a1.Login))["reason"]);
            Assert.Equal("hangup", (string?)(await devices.Socket(winner).NextEventAsync("callEnded", callId, winner.Login))["reason"]);
            // The next round's offer must be the next frame of the devices answered elsewhere: nothing more about this call.
        }

        foreach (var device in new[] { a1, b1, b2, b3 })
        {
            await Calls.AssertNothingElseAsync(Silo, device, devices.Socket(device));
        }

        Assert.All(wins.Values, count => Assert.True(count > 0, "every device should have won some rounds"));
    }

    [Fact]
    public async Task Reject_RingingCallee_EndsForEveryoneWithRejected()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        var b3 = await TestAccounts.AddCompanionAsync(Silo, b1);
        TestDevice[] callees = [b1, b2, b3];
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, b1, b2, b3);
        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, callees, Calls.PayloadsFor(callees)), Cancel);
        foreach (var callee in callees)
        {
            await devices.Socket(callee).NextEventAsync("callOffer", callId, callee.Login);
        }

        Assert.Equal((HttpStatusCode.NoContent, null), await Calls.TryActAsync(devices.Client(b2), callId, "reject", null, Cancel));

        foreach (var device in new[] { a1, b1, b2, b3 })
        {
            Assert.Equal("rejected", (string?)(await devices.Socket(device).NextEventAsync("callEnded", callId, device.Login))["reason"]);
        }

        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(devices.Client(b1), callId, "answer", Calls.NewPayload(), Cancel));
        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(devices.Client(b3), callId, "reject", null, Cancel));
        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(devices.Client(a1), callId, "hangup", null, Cancel));
        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(devices.Client(a1), callId, "ice", Calls.NewPayload(), Cancel));
    }

    [Fact]
    public async Task Hangup_CallerWhileRinging_EndsForCallerAndEveryRungDevice()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, b1, b2);
        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2])), Cancel);
        await devices.Socket(b1).NextEventAsync("callOffer", callId, b1.Login);
        await devices.Socket(b2).NextEventAsync("callOffer", callId, b2.Login);

        Assert.Equal((HttpStatusCode.NoContent, null), await Calls.TryActAsync(devices.Client(a1), callId, "hangup", null, Cancel));

        foreach (var device in new[] { a1, b1, b2 })
        {
            Assert.Equal("hangup", (string?)(await devices.Socket(device).NextEventAsync("callEnded", callId, device.Login))["reason"]);
        }

        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(devices.Client(b1), callId, "answer", Calls.NewPayload(), Cancel));
    }

    [Fact]
    public async Task Hangup_AnsweringDevice_EndsForCallerOnlyOthersHearNothingMore()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, b1, b2);
        var callId = await AnsweredCallAsync(devices, a1, [b1, b2], b2);

        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), await Calls.TryActAsync(devices.Client(b1), callId, "hangup", null, Cancel));
        Assert.Equal((HttpStatusCode.NoContent, null), await Calls.TryActAsync(devices.Client(b2), callId, "hangup", null, Cancel));

        Assert.Equal("hangup", (string?)(await devices.Socket(a1).NextEventAsync("callEnded", callId, a1.Login))["reason"]);
        Assert.Equal("hangup", (string?)(await devices.Socket(b2).NextEventAsync("callEnded", callId, b2.Login))["reason"]);
        await Calls.AssertNothingElseAsync(Silo, b1, devices.Socket(b1));
        Assert.Equal((HttpStatusCode.Conflict, "call_ended"), await Calls.TryActAsync(devices.Client(a1), callId, "hangup", null, Cancel));
    }

    [Fact]
    public async Task Ice_AfterAnswer_RelayedOnlyBetweenCallerDeviceAndAnsweringDevice()
    {
        var a1 = await TestAccounts.RegisterAsync(Silo);
        var a2 = await TestAccounts.AddCompanionAsync(Silo, a1);
        var b1 = await TestAccounts.RegisterAsync(Silo);
        var b2 = await TestAccounts.AddCompanionAsync(Silo, b1);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, a2, b1, b2);
        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2])), Cancel);
        await devices.Socket(b1).NextEventAsync("callOffer", callId, b1.Login);
        await devices.Socket(b2).NextEventAsync("callOffer", callId, b2.Login);

        Assert.Equal((HttpStatusCode.Conflict, "call_not_answered"), await Calls.TryActAsync(devices.Client(a1), callId, "ice", Calls.NewPayload(), Cancel));
        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), await Calls.TryActAsync(devices.Client(b1), callId, "ice", Calls.NewPayload(), Cancel));

        Assert.Equal(HttpStatusCode.OK, (await Calls.TryActAsync(devices.Client(b1), callId, "answer", Calls.NewPayload(), Cancel)).Status);
        await devices.Socket(a1).NextEventAsync("callAnswered", callId, a1.Login);
        await devices.Socket(b2).NextEventAsync("callAnsweredElsewhere", callId, b2.Login);
        var fromCaller = Calls.NewPayload();
        var fromCallee = Calls.NewPayload();

        Assert.Equal((HttpStatusCode.NoContent, null), await Calls.TryActAsync(devices.Client(a1), callId, "ice", fromCaller, Cancel));
        Assert.Equal((HttpStatusCode.NoContent, null), await Calls.TryActAsync(devices.Client(b1), callId, "ice", fromCallee, Cancel));
        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), await Calls.TryActAsync(devices.Client(b2), callId, "ice", Calls.NewPayload(), Cancel));
        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), await Calls.TryActAsync(devices.Client(a2), callId, "ice", Calls.NewPayload(), Cancel));

        Assert.Equal(fromCaller, Calls.Bytes(await devices.Socket(b1).NextEventAsync("callIce", callId, b1.Login), "payload"));
        Assert.Equal(fromCallee, Calls.Bytes(await devices.Socket(a1).NextEventAsync("callIce", callId, a1.Login), "payload"));
        foreach (var device in new[] { a1, a2, b1, b2 })
        {
            await Calls.AssertNothingElseAsync(Silo, device, devices.Socket(device));
        }
    }

    [Fact]
    public async Task Authorization_DeviceNotInCall_ForbiddenForEveryAction()
    {
        var a1 = await TestAccounts.RegisterAsync(Silo);
        var a2 = await TestAccounts.AddCompanionAsync(Silo, a1);
        var b1 = await TestAccounts.RegisterAsync(Silo);
        var c1 = await TestAccounts.RegisterAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, b1);
        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1], Calls.PayloadsFor([b1])), Cancel);
        await devices.Socket(b1).NextEventAsync("callOffer", callId, b1.Login);
        // Linked after the call rang: of the callee's account, but the call never rang it.
        var b2 = await TestAccounts.AddCompanionAsync(Silo, b1);

        foreach (var outsider in new[] { c1, a2, b2 })
        {
            foreach (var (action, payload) in new[] { ("answer", Calls.NewPayload()), ("reject", null), ("hangup", null), ("ice", Calls.NewPayload()) })
            {
                Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), await Calls.TryActAsync(devices.Client(outsider), callId, action, payload, Cancel));
            }
        }

        // The caller device is in the call, but it cannot answer or reject its own call.
        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), await Calls.TryActAsync(devices.Client(a1), callId, "answer", Calls.NewPayload(), Cancel));
        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), await Calls.TryActAsync(devices.Client(a1), callId, "reject", null, Cancel));

        // None of that changed the call: it still rings, and the device it rang can answer.
        var answer = Calls.NewPayload();
        Assert.Equal(HttpStatusCode.OK, (await Calls.TryActAsync(devices.Client(b1), callId, "answer", answer, Cancel)).Status);
        Assert.Equal(answer, Calls.Bytes(await devices.Socket(a1).NextEventAsync("callAnswered", callId, a1.Login), "payload"));
        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), await Calls.TryActAsync(devices.Client(c1), callId, "hangup", null, Cancel));
    }

    [Fact]
    public async Task Reject_AfterAnswer_ConflictNotRinging()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, b1, b2);
        var callId = await AnsweredCallAsync(devices, a1, [b1, b2], b1);

        Assert.Equal((HttpStatusCode.Conflict, "call_not_ringing"), await Calls.TryActAsync(devices.Client(b2), callId, "reject", null, Cancel));
        Assert.Equal((HttpStatusCode.Conflict, "call_not_ringing"), await Calls.TryActAsync(devices.Client(b2), callId, "answer", Calls.NewPayload(), Cancel));
        Assert.Equal((HttpStatusCode.Conflict, "call_not_ringing"), await Calls.TryActAsync(devices.Client(b1), callId, "answer", Calls.NewPayload(), Cancel));
        await Calls.AssertNothingElseAsync(Silo, a1, devices.Socket(a1));
    }

    [Fact]
    public async Task Start_WrongDeviceSet_ConflictOrGoneAsForMessagesAndNothingRings()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, b1, b2);
        var caller = devices.Client(a1);
        var payloads = Calls.PayloadsFor([b1, b2]);
        var ghost = b2 with { DeviceId = 7 };
        payloads[ghost] = Calls.NewPayload();
        var staleB1 = b1 with { RegistrationId = b1.RegistrationId % 16380 + 1 };
        payloads[staleB1] = Calls.NewPayload();

        using var missing = await Calls.StartAsync(caller, Calls.StartBody(b1.AccountId, [b1], payloads), Cancel);
        using var extra = await Calls.StartAsync(caller, Calls.StartBody(b1.AccountId, [b1, b2, ghost], payloads), Cancel);
        using var none = await Calls.StartAsync(caller, Calls.StartBody(b1.AccountId, [], payloads), Cancel);
        using var stale = await Calls.StartAsync(caller, Calls.StartBody(b1.AccountId, [staleB1, b2], payloads), Cancel);
        using var unknown = await Calls.StartAsync(caller, Calls.StartBody(TestAccounts.NewAccountId(), [b1], payloads), Cancel);

        Assert.Equal(HttpStatusCode.Conflict, missing.StatusCode);
        var missingBody = await missing.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal("mismatched_devices", (string?)missingBody!["error"]);
        Assert.Equal([b2.DeviceId], missingBody["missingDevices"]!.AsArray().Select(n => (int)n!));
        Assert.Empty(missingBody["extraDevices"]!.AsArray());
        Assert.Equal(HttpStatusCode.Conflict, extra.StatusCode);
        var extraBody = await extra.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal([7], extraBody!["extraDevices"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(HttpStatusCode.Conflict, none.StatusCode);
        var noneBody = await none.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal([b1.DeviceId, b2.DeviceId], noneBody!["missingDevices"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(HttpStatusCode.Gone, stale.StatusCode);
        var staleBody = await stale.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal("stale_devices", (string?)staleBody!["error"]);
        Assert.Equal([b1.DeviceId], staleBody["staleDevices"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        await Calls.AssertNothingElseAsync(Silo, b1, devices.Socket(b1));
        await Calls.AssertNothingElseAsync(Silo, b2, devices.Socket(b2));
    }

    [Fact]
    public async Task Actions_UnknownOrMalformedCallId_NotFoundOrBadRequest()
    {
        var a1 = await TestAccounts.RegisterAsync(Silo);
        using var client = a1.CreateClient(Silo);
        var unknown = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

        foreach (var (action, payload) in new[] { ("answer", Calls.NewPayload()), ("reject", null), ("hangup", null), ("ice", Calls.NewPayload()) })
        {
            Assert.Equal((HttpStatusCode.NotFound, "not_found"), await Calls.TryActAsync(client, unknown, action, payload, Cancel));
            using var malformed = await Calls.ActAsync(client, "not-a-call", action, payload, Cancel);
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.Equal("callId", (string?)(await malformed.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["field"]);
        }
    }

    public static TheoryData<string, string, string> BadStartBodies => new()
    {
        { """{"offers":[]}""", "missing_field", "to" },
        { """{"to":"12345","offers":[]}""", "invalid_field", "to" },
        { """{"to":"+15550000001"}""", "missing_field", "offers" },
        { """{"to":"+15550000001","offers":[{"registrationId":1,"payload":"AAAA"}]}""", "missing_field", "offers[0].deviceId" },
        { """{"to":"+15550000001","offers":[{"deviceId":0,"registrationId":1,"payload":"AAAA"}]}""", "invalid_field", "offers[0].deviceId" },
        { """{"to":"+15550000001","offers":[{"deviceId":1,"registrationId":1,"payload":"AAAA"},{"deviceId":1,"registrationId":1,"payload":"AAAA"}]}""", "invalid_field", "offers[1].deviceId" },
        { """{"to":"+15550000001","offers":[{"deviceId":1,"payload":"AAAA"}]}""", "missing_field", "offers[0].registrationId" },
        { """{"to":"+15550000001","offers":[{"deviceId":1,"registrationId":1}]}""", "missing_field", "offers[0].payload" },
        { """{"to":"+15550000001","offers":[{"deviceId":1,"registrationId":1,"payload":"not base64!"}]}""", "invalid_field", "offers[0].payload" },
        { """{"to":"+15550000001","offers":[{"deviceId":1,"registrationId":1,"payload":""}]}""", "invalid_field", "offers[0].payload" },
        { """{"to":"+15550000001","offers":[{"deviceId":"one","registrationId":1,"payload":"AAAA"}]}""", "invalid_field", "offers[0].deviceId" },
    };

    [Theory]
    [MemberData(nameof(BadStartBodies))]
    public async Task Start_BadInput_BadRequestNamingTheField(string body, string error, string field)
    {
        var a1 = await TestAccounts.RegisterAsync(Silo);
        using var client = a1.CreateClient(Silo);

        using var response = await client.PostAsync("/v1/calls", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal(error, (string?)answer!["error"]);
        Assert.Equal(field, (string?)answer["field"]);
    }

    [Fact]
    public async Task Payloads_BadOrOverLimit_BadRequestOrTooLarge()
    {
        var a1 = await TestAccounts.RegisterAsync(Silo);
        var b1 = await TestAccounts.RegisterAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, b1);
        var huge = new byte[64 * 1024 + 1];
        var tooBig = new Dictionary<TestDevice, byte[]> { [b1] = huge };

        using var bigOffer = await Calls.StartAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1], tooBig), Cancel);
        var callId = await Calls.StartOkAsync(devices.Client(a1), Calls.StartBody(b1.AccountId, [b1], Calls.PayloadsFor([b1])), Cancel);
        using var bigAnswer = await Calls.ActAsync(devices.Client(b1), callId, "answer", huge, Cancel);
        using var noPayload = await devices.Client(b1).PostAsJsonAsync($"/v1/calls/{callId}/answer", new JsonObject(), Cancel);
        using var notJson = await devices.Client(b1).PostAsync($"/v1/calls/{callId}/answer", new StringContent("payload"), Cancel);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bigOffer.StatusCode);
        Assert.Equal("offers[0].payload", (string?)(await bigOffer.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["field"]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bigAnswer.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noPayload.StatusCode);
        Assert.Equal("payload", (string?)(await noPayload.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["field"]);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJson.StatusCode);
        // The refused answers changed nothing: the call still rings its device.
        await devices.Socket(b1).NextEventAsync("callOffer", callId, b1.Login);
        Assert.Equal(HttpStatusCode.OK, (await Calls.TryActAsync(devices.Client(b1), callId, "answer", Calls.NewPayload(), Cancel)).Status);
    }

    [Fact]
    public async Task Metrics_AfterAnsweredCall_ExportedWithoutIds()
    {
        var a1 = await TestAccounts.RegisterAsync(Silo);
        var b1 = await TestAccounts.RegisterAsync(Silo);
        await using var devices = await Devices.ConnectedAsync(Silo, Cancel, a1, b1);
        var callId = await AnsweredCallAsync(devices, a1, [b1], b1);
        Assert.Equal((HttpStatusCode.NoContent, null), await Calls.TryActAsync(devices.Client(a1), callId, "hangup", null, Cancel));
        using var http = Silo.CreateHttpClient();

        var text = await http.GetStringAsync("/metrics", Cancel);

        Assert.Contains("cluster_call_offers_total", text, StringComparison.Ordinal);
        Assert.Contains("cluster_call_answers_total", text, StringComparison.Ordinal);
        Assert.Contains("cluster_call_setup_seconds_bucket", text, StringComparison.Ordinal);
        Assert.Contains("cluster_calls_ended_total{", text, StringComparison.Ordinal);
        Assert.Contains("reason=\"hangup\"", text, StringComparison.Ordinal);
        Assert.Contains("cluster_calls_ringing", text, StringComparison.Ordinal);
        Assert.DoesNotContain(callId, text, StringComparison.Ordinal);
        Assert.DoesNotContain(a1.AccountId, text, StringComparison.Ordinal);
    }

    /// <summary>Starts a call from <paramref name="caller"/> to <paramref name="callees"/> and has <paramref name="answerer"/> answer it.</summary>
    private static async Task<string> AnsweredCallAsync(Devices devices, TestDevice caller, TestDevice[] callees, TestDevice answerer)
    {
        var callId = await Calls.StartOkAsync(devices.Client(caller), Calls.StartBody(callees[0].AccountId, callees, Calls.PayloadsFor(callees)), Cancel);
        foreach (var callee in callees)
        {
            await devices.Socket(callee).NextEventAsync("callOffer", callId, callee.Login);
        }

        Assert.Equal(HttpStatusCode.OK, (await Calls.TryActAsync(devices.Client(answerer), callId, "answer", Calls.NewPayload(), Cancel)).Status);
        await devices.Socket(caller).NextEventAsync("callAnswered", callId, caller.Login);
        foreach (var callee in callees.Where(c => c != answerer))
        {
            await devices.Socket(callee).NextEventAsync("callAnsweredElsewhere", callId, callee.Login);
        }

        return callId;
    }
}
