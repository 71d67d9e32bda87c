using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Observability.Tests;

/// <summary>What the exchange used that must never show up in a label: account ids, device logins, call and envelope ids.</summary>
internal sealed record ExchangeRecord(IReadOnlyList<string> Identifiers);

/// <summary>
/// A scripted exchange of messages, a link and a call, on a silo whose clock the script moves, with the amount every
/// product series must move by at each step. Each step's amounts are added to what the steps before expected; at
/// each checkpoint every series below must have moved by exactly its total so far (0 when no step named it), so
/// that a series moving when it should not is caught as well.
/// </summary>
internal static class Exchange
{
    /// <summary>The silo settings the script relies on.</summary>
    public static readonly IReadOnlyDictionary<string, string> SiloSettings = new Dictionary<string, string>
    {
        ["Messages:MaxQueueLength"] = "3",
        ["Messages:InboxTimeToLive"] = "00:01:00",
        ["Messages:ExpirySweepInterval"] = "00:10:00",
        ["Push:WebPush:MaxAttempts"] = "1",
    }.Concat(WebPushService.SiloSettings()).ToDictionary();

    public static readonly Series AccountsRegistered = new("cluster_accounts_registered_total");
    public static readonly Series MessagesReceived = new("cluster_messages_received_total");
    public static readonly Series FanoutCount = new("cluster_message_fanout_devices_count");
    public static readonly Series FanoutSum = new("cluster_message_fanout_devices_sum");
    public static readonly Series Stored = new("cluster_envelopes_stored_total");
    public static readonly Series Delivered = new("cluster_envelopes_delivered_total");
    public static readonly Series Acked = new("cluster_envelopes_acked_total");
    public static readonly Series Expired = new("cluster_envelopes_expired_total");
    public static readonly Series Dropped = new("cluster_envelopes_dropped_total");
    public static readonly Series LiveLatencyCount = new("cluster_delivery_latency_seconds_count", ("delivery", "live"));
    public static readonly Series LiveLatencySum = new("cluster_delivery_latency_seconds_sum", ("delivery", "live"));
    public static readonly Series BacklogLatencyCount = new("cluster_delivery_latency_seconds_count", ("delivery", "backlog"));
    public static readonly Series BacklogLatencySum = new("cluster_delivery_latency_seconds_sum", ("delivery", "backlog"));
    public static readonly Series InboxDepth = new("cluster_inbox_depth_envelopes");
    public static readonly Series SocketsOpen = new("cluster_sockets_open");
    public static readonly Series SocketsReplaced = new("cluster_sockets_replaced_total");
    public static readonly Series DeviceListChanges = new("cluster_device_list_changes_total");
    public static readonly Series DeviceListFanoutCount = new("cluster_device_list_fanout_accounts_count");
    public static readonly Series DeviceListFanoutSum = new("cluster_device_list_fanout_accounts_sum");
    public static readonly Series PreKeyBundles = new("cluster_prekey_bundles_total");
    public static readonly Series EcKeysExhausted = new("cluster_prekeys_exhausted_total", ("kind", "ec"));
    public static readonly Series KemKeysExhausted = new("cluster_prekeys_exhausted_total", ("kind", "kem"));
    public static readonly Series PreKeysLow = new("cluster_prekeys_low_total");
    public static readonly Series LinkTokens = new("cluster_link_tokens_total");
    public static readonly Series LinksLinked = new("cluster_link_attempts_total", ("outcome", "Linked"));
    public static readonly Series LinksBadToken = new("cluster_link_attempts_total", ("outcome", "BadToken"));
    public static readonly Series CallOffers = new("cluster_call_offers_total");
    public static readonly Series CallAnswers = new("cluster_call_answers_total");
    public static readonly Series CallSetupCount = new("cluster_call_setup_seconds_count");
    public static readonly Series CallSetupSum = new("cluster_call_setup_seconds_sum");
    public static readonly Series CallsRinging = new("cluster_calls_ringing");
    public static readonly Series CallsHungUpAfterAnswer = new("cluster_calls_ended_total", ("reason", "hangup"), ("answered", "true"));
    public static readonly Series CallsEndedOtherwise = new("cluster_calls_ended_total", ("answered", "false"));
    public static readonly Series CommitRows = new("cluster_inbox_commit_batch_rows_sum", ("store", "sqlite"));
    public static readonly Series Commits = new("cluster_inbox_commits_total", ("store", "sqlite"));
    public static readonly Series CommitDurations = new("cluster_inbox_commit_duration_seconds_count", ("store", "sqlite"));
    public static readonly Series RegisterCreated = Http("/v1/accounts", "POST", 201);
    public static readonly Series KeysFetched = Http("/v1/keys/{accountId}/{deviceId}", "GET", 200);
    public static readonly Series KeysNotFound = Http("/v1/keys/{accountId}/{deviceId}", "GET", 404);
    public static readonly Series LinkCreated = Http("/v1/devices/link", "PUT", 201);
    public static readonly Series LinkForbidden = Http("/v1/devices/link", "PUT", 403);
    public static readonly Series SendsOk = Http("/v1/messages/{accountId}", "PUT", 200);
    public static readonly Series CallsCreated = Http("/v1/calls", "POST", 201);
    public static readonly Series CallAnswersOk = Http("/v1/calls/{callId}/answer", "POST", 200);
    public static readonly Series CallHangupsOk = Http("/v1/calls/{callId}/hangup", "POST", 204);
    public static readonly Series ReadyOk = Http("/health/ready", "GET", 200);
    public static readonly Series PushSent = new("cluster_push_sent_total", ("kind", "WebPush"));
    public static readonly Series PushCoalesced = new("cluster_push_coalesced_total");
    public static readonly Series PushFailed = new("cluster_push_failed_total", ("reason", "rejected"));
    public static readonly Series PushGone = new("cluster_push_dropped_total", ("reason", "gone"));

    public static IReadOnlyList<Series> All { get; } = typeof(Exchange)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.FieldType == typeof(Series))
        .Select(f => (Series)f.GetValue(null)!)
        .ToList();

    public static async Task<ExchangeRecord> RunAsync(TestSilo silo, FakeTimeProvider time, MetricsWatch watch, CancellationToken cancel)
    {
        var ids = new List<string>();
        await watch.BaselineAsync(All, cancel);

        // Four accounts; alice has ten one-time EC keys and no one-time KEM key. A readiness probe, as a kubelet makes.
        var alice = await TestAccounts.RegisterAsync(silo, oneTimeKeys: 10);
        var bob = await TestAccounts.RegisterAsync(silo);
        var carol = await TestAccounts.RegisterAsync(silo);
        var dave = await TestAccounts.RegisterAsync(silo);
        ids.AddRange([alice.AccountId, bob.AccountId, carol.AccountId, dave.AccountId, alice.Login, bob.Login, carol.Login, dave.Login]);
        using var anonymous = silo.CreateHttpClient();
        await ExpectStatusAsync(anonymous.GetAsync("/health/ready", cancel), HttpStatusCode.OK);
        watch.Expect(AccountsRegistered, 4);
        watch.Expect(RegisterCreated, 4);
        watch.Expect(ReadyOk, 1);
        await watch.CheckpointAsync("registering four accounts", cancel);

        // Bob fetches alice's keys: one bundle, with an EC one-time key (10 left: 9 crosses the keysLow threshold of
        // 10) and without a KEM one. Bob is now interested in alice's devices. A fetch for nobody is a 404.
        using var bobHttp = bob.CreateClient(silo);
        await ExpectStatusAsync(bobHttp.GetAsync($"/v1/keys/{Uri.EscapeDataString(alice.AccountId)}/*", cancel), HttpStatusCode.OK);
        await ExpectStatusAsync(bobHttp.GetAsync($"/v1/keys/{Uri.EscapeDataString(TestAccounts.NewAccountId())}/1", cancel), HttpStatusCode.NotFound);
        watch.Expect(PreKeyBundles, 1);
        watch.Expect(KemKeysExhausted, 1);
        watch.Expect(PreKeysLow, 1);
        watch.Expect(KeysFetched, 1);
        watch.Expect(KeysNotFound, 1);
        await watch.CheckpointAsync("fetching prekeys", cancel);

        // Alice links a laptop (a token, then the link: one device-list change, told to one interested account, bob).
        // A link with a token that was never issued is refused.
        var laptop = await Linking.LinkAsync(silo, alice, keyIndex: 1);
        ids.Add(laptop.Login);
        var forgedToken = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var (_, forged) = Linking.NewRequest(alice, forgedToken, keyIndex: 2);
        await ExpectStatusAsync(anonymous.PutAsJsonAsync("/v1/devices/link", forged, cancel), HttpStatusCode.Forbidden);
        watch.Expect(LinkTokens, 1);
        watch.Expect(LinksLinked, 1);
        watch.Expect(LinksBadToken, 1);
        watch.Expect(LinkCreated, 1);
        watch.Expect(LinkForbidden, 1);
        watch.Expect(DeviceListChanges, 1);
        watch.Expect(DeviceListFanoutCount, 1);
        watch.Expect(DeviceListFanoutSum, 1);
        // The laptop's inbox is purged when it is linked (a reused device id starts clean): the first inbox commit.
        // Rows per commit: one per envelope appended or id acked, one per other operation. How many commits a step
        // takes depends on batching: at least one in all.
        watch.Expect(CommitRows, 1);
        watch.ExpectAtLeast(Commits, 1);
        watch.ExpectAtLeast(CommitDurations, 1);
        await watch.CheckpointAsync("linking a laptop", cancel);

        await using var phoneSocket = await ConnectAsync(silo, alice, cancel);
        await using var laptopSocket = await ConnectAsync(silo, laptop, cancel);
        var bobSocket = await ConnectAsync(silo, bob, cancel);
        watch.Expect(SocketsOpen, 3);
        await watch.CheckpointAsync("connecting three sockets", cancel);

        // Live messages: bob to alice's two devices, alice to bob; each device acks what it got.
        using var aliceHttp = alice.CreateClient(silo);
        await Messages.SendOkAsync(bobHttp, alice.AccountId, Messages.Body([alice, laptop], "hello"), cancel);
        await Messages.SendOkAsync(aliceHttp, bob.AccountId, Messages.Body([bob], "hi"), cancel);
        foreach (var socket in new[] { phoneSocket, laptopSocket, bobSocket })
        {
            var envelope = await NextEnvelopeAsync(socket);
            ids.Add((string)envelope["id"]!);
            await socket.AckAsync([envelope]);
        }

        watch.Expect(MessagesReceived, 2);
        watch.Expect(SendsOk, 2);
        watch.Expect(FanoutCount, 2);
        watch.Expect(FanoutSum, 3);
        watch.Expect(Stored, 3);
        watch.Expect(Delivered, 3);
        watch.Expect(Acked, 3);
        watch.Expect(LiveLatencyCount, 3);
        // The clock stands still until the script moves it: a live delivery takes 0 s of it.
        watch.Expect(LiveLatencySum, 0);
        watch.Expect(CommitRows, 3 + 3);
        await watch.CheckpointAsync("three live deliveries, acked", cancel);

        // Carol and dave are offline. Carol's queue holds three envelopes: the fourth drops the oldest. Carol has a
        // Web Push subscription: the first envelope wakes her, the other three are coalesced.
        await using var carolPush = await WebPushService.StartAsync();
        using var carolHttp = carol.CreateClient(silo);
        await ExpectStatusAsync(carolHttp.PutAsJsonAsync("/v1/push/subscription", carolPush.Subscription(), cancel), HttpStatusCode.NoContent);
        for (var i = 0; i < 4; i++)
        {
            await Messages.SendOkAsync(bobHttp, carol.AccountId, Messages.Body([carol], $"m{i}"), cancel);
        }

        await carolPush.NextAsync(cancel);
        watch.Expect(PushSent, 1);
        watch.Expect(PushCoalesced, 3);

        await Messages.SendOkAsync(bobHttp, dave.AccountId, Messages.Body([dave], "later"), cancel);
        watch.Expect(MessagesReceived, 5);
        watch.Expect(SendsOk, 5);
        watch.Expect(FanoutCount, 5);
        watch.Expect(FanoutSum, 5);
        watch.Expect(Stored, 5);
        watch.Expect(Dropped, 1);
        watch.Expect(InboxDepth, 4);
        watch.Expect(CommitRows, 5 + 1);
        await watch.CheckpointAsync("five sends to offline devices, one dropped", cancel);

        // Dave connects two seconds later: his envelope took 2 s from store to ack, from the backlog.
        time.Advance(TimeSpan.FromSeconds(2));
        await using (var daveSocket = await TestSocket.ConnectAsync(silo, dave, cancel))
        {
            var backlog = await daveSocket.ReadBacklogAsync();
            Assert.Single(backlog);
            ids.Add((string)backlog[0]["id"]!);
            await daveSocket.AckAsync(backlog);
            watch.Expect(SocketsOpen, 1);
            watch.Expect(Delivered, 1);
            watch.Expect(Acked, 1);
            watch.Expect(BacklogLatencyCount, 1);
            watch.Expect(BacklogLatencySum, 2);
            watch.Expect(InboxDepth, -1);
            watch.Expect(CommitRows, 1);
            await watch.CheckpointAsync("dave's backlog delivered and acked", cancel);
        }

        watch.Expect(SocketsOpen, -1);
        await watch.CheckpointAsync("dave disconnected", cancel);

        // Bob calls alice; her laptop answers three seconds later, her phone stops ringing; bob hangs up.
        var callId = await StartCallAsync(bobHttp, alice, [alice, laptop], cancel);
        ids.Add(callId);
        await NextEventAsync(phoneSocket, "callOffer");
        await NextEventAsync(laptopSocket, "callOffer");
        watch.Expect(CallOffers, 1);
        watch.Expect(CallsCreated, 1);
        watch.Expect(CallsRinging, 1);
        await watch.CheckpointAsync("a call ringing", cancel);

        time.Advance(TimeSpan.FromSeconds(3));
        using var laptopHttp = laptop.CreateClient(silo);
        await ExpectStatusAsync(laptopHttp.PostAsJsonAsync($"/v1/calls/{callId}/answer", new JsonObject { ["payload"] = Payload() }, cancel), HttpStatusCode.OK);
        await NextEventAsync(bobSocket, "callAnswered");
        await NextEventAsync(phoneSocket, "callAnsweredElsewhere");
        watch.Expect(CallAnswers, 1);
        watch.Expect(CallAnswersOk, 1);
        watch.Expect(CallSetupCount, 1);
        watch.Expect(CallSetupSum, 3);
        watch.Expect(CallsRinging, -1);
        await watch.CheckpointAsync("the call answered after 3 s", cancel);

        await ExpectStatusAsync(bobHttp.PostAsync($"/v1/calls/{callId}/hangup", null, cancel), HttpStatusCode.NoContent);
        await NextEventAsync(laptopSocket, "callEnded");
        watch.Expect(CallsHungUpAfterAnswer, 1);
        watch.Expect(CallHangupsOk, 1);
        await watch.CheckpointAsync("the call hung up", cancel);

        // Bob connects again: his first socket is closed with 4409 (replaced).
        await using (var bobAgain = await ConnectAsync(silo, bob, cancel))
        {
            Assert.Equal(4409, (int?)await bobSocket.Closed.WaitAsync(TimeSpan.FromSeconds(15), cancel));
            await bobSocket.DisposeAsync();
            watch.Expect(SocketsReplaced, 1);
            await watch.CheckpointAsync("bob reconnected", cancel);
        }

        watch.Expect(SocketsOpen, -1);

        // Ten minutes on, the expiry sweep (every 10 minutes) deletes carol's three envelopes (time to live: 1 minute).
        // The inbox-depth gauge keeps counting them until carol's device grain reactivates (see ClusterMetrics).
        time.Advance(TimeSpan.FromMinutes(10));
        watch.Expect(Expired, 3);
        // One operation each in the inbox's group commits: the envelope expiry batch, the idempotency receipt sweep and
        // the group body sweep (GroupBodySweeper, on the same interval).
        watch.Expect(CommitRows, 3);
        await watch.CheckpointAsync("the expiry sweep", cancel);

        // Dave, offline, subscribes to a push service that refuses (403: given up), then to one whose subscription is
        // gone (410: dropped, and the subscription removed). An explicit urgent send wakes past the coalescing.
        await using var refusing = await WebPushService.StartAsync();
        refusing.Status = 403;
        await using var gone = await WebPushService.StartAsync();
        gone.Status = 410;
        using var daveHttp = dave.CreateClient(silo);
        await ExpectStatusAsync(daveHttp.PutAsJsonAsync("/v1/push/subscription", refusing.Subscription(), cancel), HttpStatusCode.NoContent);
        await Messages.SendOkAsync(bobHttp, dave.AccountId, Messages.Body([dave], "refused"), cancel);
        await refusing.NextAsync(cancel);
        watch.Expect(PushFailed, 1);
        await ExpectStatusAsync(daveHttp.PutAsJsonAsync("/v1/push/subscription", gone.Subscription(), cancel), HttpStatusCode.NoContent);
        var urgent = Messages.Body([dave], "gone");
        urgent["urgent"] = true;
        await Messages.SendOkAsync(bobHttp, dave.AccountId, urgent, cancel);
        await gone.NextAsync(cancel);
        watch.Expect(PushGone, 1);
        watch.Expect(MessagesReceived, 2);
        watch.Expect(SendsOk, 2);
        watch.Expect(FanoutCount, 2);
        watch.Expect(FanoutSum, 2);
        watch.Expect(Stored, 2);
        watch.Expect(InboxDepth, 2);
        watch.Expect(CommitRows, 2);
        await watch.CheckpointAsync("push to dave refused, then gone", cancel);
        return new ExchangeRecord(ids);
    }

    private static Series Http(string route, string method, int status) => new(
        "http_server_request_duration_seconds_count",
        ("http_route", route),
        ("http_request_method", method),
        ("http_response_status_code", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static string Payload() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));

    private static async Task<string> StartCallAsync(HttpClient caller, TestDevice callee, IEnumerable<TestDevice> devices, CancellationToken cancel)
    {
        var body = new JsonObject
        {
            ["to"] = callee.AccountId,
            ["offers"] = new JsonArray(devices.Select(d => (JsonNode)new JsonObject
            {
                ["deviceId"] = d.DeviceId,
                ["registrationId"] = d.RegistrationId,
                ["payload"] = Payload(),
            }).ToArray()),
        };
        using var response = await caller.PostAsJsonAsync("/v1/calls", body, cancel);
        var text = await response.Content.ReadAsStringAsync(cancel);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"starting the call answered {(int)response.StatusCode} {text}");
        return (string)JsonNode.Parse(text)!["callId"]!;
    }

    private static async Task ExpectStatusAsync(Task<HttpResponseMessage> request, HttpStatusCode expected)
    {
        using var response = await request;
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} answered {(int)response.StatusCode}, expected {(int)expected}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Connects a device and reads its backlog, which must hold no envelope (events may come first).</summary>
    private static async Task<TestSocket> ConnectAsync(TestSilo silo, TestDevice device, CancellationToken cancel)
    {
        var socket = await TestSocket.ConnectAsync(silo, device, cancel);
        while (true)
        {
            var frame = await socket.NextAsync($"queueEmpty for {device.Login}");
            switch ((string?)frame["kind"])
            {
                case "queueEmpty":
                    return socket;
                case "envelope":
                    throw new InvalidOperationException($"{device.Login} had a backlog: {frame.ToJsonString()}");
            }
        }
    }

    /// <summary>The next envelope; events (a device-list change, keysLow) may come before it.</summary>
    private static async Task<JsonObject> NextEnvelopeAsync(TestSocket socket)
    {
        while (true)
        {
            var frame = await socket.NextAsync("an envelope");
            if ((string?)frame["kind"] == "envelope")
            {
                return frame["envelope"]!.AsObject();
            }
        }
    }

    /// <summary>The next event of <paramref name="type"/>; other events may come before it, an envelope may not.</summary>
    private static async Task NextEventAsync(TestSocket socket, string type)
    {
        while (true)
        {
            var frame = await socket.NextAsync($"a {type} event");
            if ((string?)frame["kind"] == "envelope")
            {
                throw new InvalidOperationException($"expected a {type} event, got an envelope: {frame.ToJsonString()}");
            }

            if ((string?)frame["event"]?["type"] == type)
            {
                return;
            }
        }
    }
}
