using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Security.Tests;

/// <summary>The status each caller must get, as the contract (docs/protocol.md, docs/devices.md, docs/calls.md) gives it.</summary>
internal sealed record Expect(int Anonymous, int Stranger, int Companion, int Primary, int Removed, int WrongPassword)
{
    public int For(Caller caller) => caller switch
    {
        Caller.Anonymous => Anonymous,
        Caller.Stranger => Stranger,
        Caller.Companion => Companion,
        Caller.Primary => Primary,
        Caller.Removed => Removed,
        _ => WrongPassword,
    };
}

/// <summary>What a caller got: the status (101 for an upgraded socket) and the body.</summary>
internal sealed record Answer(int Status, string Body);

/// <summary>
/// One call to make, prepared for one caller: an HTTP request (sent with the caller's credentials), or a socket action
/// answering its upgrade status; then checks of what the call must (not) have changed, and what to release afterwards.
/// </summary>
internal sealed record Probe
{
    public HttpRequestMessage? Request { get; init; }

    public Func<CancellationToken, Task<Answer>>? Socket { get; init; }

    public Func<Answer, Task>? Then { get; init; }

    public Func<Task>? Cleanup { get; init; }
}

/// <summary>One caller in one row: the world it acts in (a row may change who a caller is, see <see cref="World"/>).</summary>
internal sealed class Cell(World world, Caller caller)
{
    public World World { get; set; } = world;

    public Caller Caller { get; } = caller;

    public TestDevice? Device => World.DeviceOf(Caller);

    public AuthenticationHeaderValue? Credentials => World.CredentialsOf(Caller);

    /// <summary>Whether the caller is a device of account A that the server must know (primary or live companion).</summary>
    public bool IsLiveDeviceOfA => Caller is Caller.Primary or Caller.Companion;
}

/// <summary>A row of the matrix: a route (as <see cref="SiloRoute.Key"/>), the situation, and each caller's status.</summary>
internal sealed record Row(string Route, string Case, Expect Expected, Func<Cell, Task<Probe>> Arrange)
{
    public string Name => $"{Route} ({Case})";

    public override string ToString() => Name;
}

/// <summary>
/// The authorization matrix: every route the silo maps, and every message a client sends on a socket, called by every
/// kind of caller. Columns: anonymous, a device of another account (the stranger), a companion of the account, its
/// primary, a removed device of it, its primary with a wrong password. The fuzz suite takes its valid requests from here.
/// </summary>
internal static class AuthorizationMatrix
{
    private const int Unauthorized = 401;

    // A well-formed group id no group has (32 hex digits).
    private static readonly string NoGroup = new('0', 32);

    // Every caller alike: for the routes where credentials are not looked at.
    private static Expect All(int status) => new(status, status, status, status, status, status);

    // Anonymous, removed and wrong-password callers get 401; the three real devices get their statuses.
    private static Expect Authenticated(int stranger, int companion, int primary) =>
        new(Unauthorized, stranger, companion, primary, Unauthorized, Unauthorized);

    public static readonly IReadOnlyList<Row> Rows =
    [
        // Anonymous endpoints: the credentials a caller sends are not looked at.
        new("* /health/live", "liveness", All(200), _ => Http(HttpMethod.Get, "/health/live")),
        new("* /health/ready", "readiness", All(200), _ => Http(HttpMethod.Get, "/health/ready")),
        new("* /metrics", "Prometheus scrape", All(200), _ => Http(HttpMethod.Get, "/metrics")),
        new("GET /openapi/{documentName}.json", "the OpenAPI document", All(200), _ => Http(HttpMethod.Get, "/openapi/v1.json")),
        new("POST /v1/accounts/verification", "a code for any number", All(202), _ => Http(HttpMethod.Post, "/v1/accounts/verification", new JsonObject { ["accountId"] = TestAccounts.NewAccountId() })),
        new("POST /v1/accounts", "a fresh number", All(201), async c => await Http(HttpMethod.Post, "/v1/accounts", await VerifiedAsync(c, TestAccounts.NewRegistration(oneTimeKeys: 2).Body))),
        new("POST /v1/accounts", "a number that is registered (a new phone)", All(201), async c => await Http(HttpMethod.Post, "/v1/accounts", await VerifiedAsync(c, TestAccounts.NewRegistration(accountId: c.World.AccountId).Body))),
        new("POST /v1/accounts", "a registered number with a registration lock, no PIN", All(423), async c => await Http(HttpMethod.Post, "/v1/accounts", await VerifiedAsync(c, await LockedAsync(c)))),
        new("PUT /v1/devices/link", "a link token of the account", All(201), LinkWithTokenAsync(ownToken: true)),
        new("PUT /v1/devices/link", "a link token of another account", All(403), LinkWithTokenAsync(ownToken: false)),
        new("* /v1/provisioning", "a new device's socket", All(101), c => Task.FromResult(new Probe { Socket = ct => ProvisioningSocketAsync(c, ct) })),

        // The caller's own account: any device, each sees only its own.
        new("GET /v1/devices", "the caller's own devices", Authenticated(200, 200, 200), c => Http(HttpMethod.Get, "/v1/devices", then: a => OwnDevicesOnly(c, a))),
        new("DELETE /v1/account", "confirm names a number other than the caller's (nothing is deleted)", Authenticated(400, 403, 400), _ => Http(HttpMethod.Delete, "/v1/account?confirm=%2B15550000000")),
        new("PUT /v1/keys", "prekeys signed by the caller's identity", Authenticated(204, 204, 204), c => Http(HttpMethod.Put, "/v1/keys", KeyUpload(c.Device ?? c.World.Primary))),
        new("PUT /v1/keys", "prekeys signed by A's primary", Authenticated(422, 422, 204), c => Http(HttpMethod.Put, "/v1/keys", KeyUpload(c.World.Primary))),
        new("GET /v1/keys", "the caller's prekey counts", Authenticated(200, 200, 200), _ => Http(HttpMethod.Get, "/v1/keys")),
        new("POST /v1/blobs", "a blob", Authenticated(201, 201, 201), _ => Task.FromResult(new Probe { Request = new HttpRequestMessage(HttpMethod.Post, "/v1/blobs") { Content = new ByteArrayContent(RandomNumberGenerator.GetBytes(100)) } })),
        new("GET /v1/blobs/{blobId}", "a blob A's primary uploaded (the id is the authority)", Authenticated(200, 200, 200), async c => await Http(HttpMethod.Get, $"/v1/blobs/{await c.World.UploadBlobAsync(c.World.Primary)}")),

        // App state: the caller's own account's collections only (no route names an account); A's primary wrote version 1.
        new("GET /v1/appstate", "the caller's own collections", Authenticated(200, 200, 200), async c => await Http(HttpMethod.Get, "/v1/appstate", then: await AppStateOfAAsync(c, "collections"))),
        new("GET /v1/appstate/{collection}", "a collection A's primary wrote", Authenticated(200, 200, 200), async c => await Http(HttpMethod.Get, "/v1/appstate/regular", then: await AppStateOfAAsync(c, "patches"))),
        new("POST /v1/appstate/{collection}/patches", "the version after A's latest", Authenticated(200, 200, 200), AppStatePatchAsync),
        new("PUT /v1/appstate/{collection}/snapshot", "a snapshot at A's latest version", Authenticated(409, 200, 200), async c => await Http(HttpMethod.Put, "/v1/appstate/regular/snapshot", await AppStateSnapshotAsync(c))),

        // Groups: any account creates and lists its own; a group's own rights (members, admins) are in Cluster.Groups.Tests.
        new("POST /v1/groups", "a group of the caller alone", Authenticated(201, 201, 201), _ => Http(HttpMethod.Post, "/v1/groups", new JsonObject { ["members"] = new JsonArray() })),
        new("GET /v1/groups", "the caller's own groups", Authenticated(200, 200, 200), _ => Http(HttpMethod.Get, "/v1/groups")),
        new("GET /v1/groups/{groupId}", "a group that does not exist", Authenticated(404, 404, 404), _ => Http(HttpMethod.Get, $"/v1/groups/{NoGroup}")),
        new("POST /v1/groups/{groupId}/members", "a group that does not exist", Authenticated(404, 404, 404), c => Http(HttpMethod.Post, $"/v1/groups/{NoGroup}/members", new JsonObject { ["members"] = new JsonArray(c.World.AccountId) })),
        new("DELETE /v1/groups/{groupId}/members/{accountId}", "a group that does not exist", Authenticated(404, 404, 404), c => Http(HttpMethod.Delete, $"/v1/groups/{NoGroup}/members/{Uri.EscapeDataString(c.World.AccountId)}")),
        new("POST /v1/groups/{groupId}/leave", "a group that does not exist", Authenticated(404, 404, 404), _ => Http(HttpMethod.Post, $"/v1/groups/{NoGroup}/leave")),
        new("PUT /v1/groups/{groupId}/admins/{accountId}", "a group that does not exist", Authenticated(404, 404, 404), c => Http(HttpMethod.Put, $"/v1/groups/{NoGroup}/admins/{Uri.EscapeDataString(c.World.AccountId)}")),
        new("DELETE /v1/groups/{groupId}/admins/{accountId}", "a group that does not exist", Authenticated(404, 404, 404), c => Http(HttpMethod.Delete, $"/v1/groups/{NoGroup}/admins/{Uri.EscapeDataString(c.World.AccountId)}")),
        new("PUT /v1/groups/{groupId}/info", "a group that does not exist", Authenticated(404, 404, 404), _ => Http(HttpMethod.Put, $"/v1/groups/{NoGroup}/info", new JsonObject { ["info"] = World.Payload("group info"), ["expectedVersion"] = 0 })),
        new("PUT /v1/groups/{groupId}/messages", "a group that does not exist", Authenticated(404, 404, 404), _ => Http(HttpMethod.Put, $"/v1/groups/{NoGroup}/messages", new JsonObject { ["recipients"] = new JsonArray(), ["content"] = World.Payload("group message"), ["timestamp"] = 1 })),

        // Push: a device sets and removes only its own subscription; only the primary sees its companions'.
        new("DELETE /v1/push/subscription", "the caller's own subscription", Authenticated(204, 204, 204), _ => Http(HttpMethod.Delete, "/v1/push/subscription")),
        new("PUT /v1/push/subscription", "a subscription naming a private address", Authenticated(400, 400, 400), _ => Http(HttpMethod.Put, "/v1/push/subscription", new JsonObject { ["kind"] = "webPush", ["endpoint"] = "https://10.0.0.1/push", ["p256dh"] = "AA", ["auth"] = "AA" })),
        new("PUT /v1/push/subscription", "an fcm subscription on a server without FCM", Authenticated(400, 400, 400), _ => Http(HttpMethod.Put, "/v1/push/subscription", new JsonObject { ["kind"] = "fcm", ["token"] = new string('a', 40) + ":APA91b" })),
        new("GET /v1/push/subscriptions/{deviceId}", "A's companion, which has none", Authenticated(404, 403, 404), c => Http(HttpMethod.Get, $"/v1/push/subscriptions/{c.World.Companion.DeviceId}")),

        // Primary-only actions on the caller's own account.
        new("POST /v1/devices/link-token", "a link token", Authenticated(201, 403, 201), _ => Http(HttpMethod.Post, "/v1/devices/link-token")),
        new("PUT /v1/account/registration-lock", "a PIN for the caller's own account", Authenticated(204, 403, 204), _ => Http(HttpMethod.Put, "/v1/account/registration-lock", new JsonObject { ["pin"] = "2468" })),
        new("DELETE /v1/account/registration-lock", "the caller's own account's lock", Authenticated(204, 403, 204), _ => Http(HttpMethod.Delete, "/v1/account/registration-lock")),
        new("PUT /v1/devices/list", "A's device list signed by A's primary", Authenticated(422, 403, 204), c => Http(HttpMethod.Put, "/v1/devices/list", Linking.DeviceList(c.World.Primary, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), [1]))),
        new("PUT /v1/provisioning/{address}", "a new device waits at the address", Authenticated(204, 403, 204), ProvisionAsync),
        new("DELETE /v1/devices/{deviceId}", "A's companion (itself, for the companion)", Authenticated(404, 204, 204), c => RemoveAsync(c, c.World.Companion.DeviceId)),
        new("DELETE /v1/devices/{deviceId}", "another companion of A", Authenticated(404, 403, 204), RemoveOtherCompanionAsync),
        new("DELETE /v1/devices/{deviceId}", "the primary (device 1)", Authenticated(400, 403, 400), c => RemoveAsync(c, 1)),
        new("DELETE /v1/devices/{deviceId}", "A's removed device", Authenticated(404, 403, 404), c => RemoveAsync(c, c.World.Removed.DeviceId)),

        // Another account's public material: any device, never a removed one.
        new("GET /v1/accounts/{accountId}/devices", "account A", Authenticated(200, 200, 200), c => Http(HttpMethod.Get, $"/v1/accounts/{Escape(c.World.AccountId)}/devices", then: a => ListsLiveDevicesOfA(c, a, "devices"))),
        new("GET /v1/keys/{accountId}/{deviceId}", "every device of A", Authenticated(200, 200, 200), c => Http(HttpMethod.Get, $"/v1/keys/{Escape(c.World.AccountId)}/*", then: a => ListsLiveDevicesOfA(c, a, "devices"))),
        new("GET /v1/keys/{accountId}/{deviceId}", "A's removed device", Authenticated(404, 404, 404), c => Http(HttpMethod.Get, $"/v1/keys/{Escape(c.World.AccountId)}/{c.World.Removed.DeviceId}")),

        // Messages: a send to A must name A's live devices, never a removed one; a queue is read and acked by its device only.
        new("PUT /v1/messages/{accountId}", "the copies the caller must send to A", Authenticated(200, 200, 200), c => Http(HttpMethod.Put, $"/v1/messages/{Escape(c.World.AccountId)}", Messages.Body(c.World.CopiesFor(c.Device), "hello"))),
        new("PUT /v1/messages/{accountId}", "a copy for A's removed device too", Authenticated(409, 409, 409), c => Http(HttpMethod.Put, $"/v1/messages/{Escape(c.World.AccountId)}", Messages.Body([.. c.World.CopiesFor(c.Device), c.World.Removed], "hello"))),
        new("GET /v1/messages", "a message is queued for A's primary", Authenticated(200, 200, 200), FetchPrimaryQueueAsync),
        new("DELETE /v1/messages/{id}", "the id of an envelope queued for A's primary", Authenticated(204, 204, 204), AckPrimaryEnvelopeOverHttpAsync),
        new("* /v1/websocket", "credentials in the Authorization header", Authenticated(101, 101, 101), c => Task.FromResult(new Probe { Socket = ct => DeviceSocketAsync(c, inQuery: false, ackId: null, ct) })),
        new("* /v1/websocket", "credentials in the query string", Authenticated(101, 101, 101), c => Task.FromResult(new Probe { Socket = ct => DeviceSocketAsync(c, inQuery: true, ackId: null, ct) })),
        new("* /v1/websocket", "socket message ack of an envelope queued for A's primary", Authenticated(101, 101, 101), AckPrimaryEnvelopeOverSocketAsync),
        new("* /v1/websocket", "socket message request sendMessages: the copies the caller must send to A", Authenticated(101, 101, 101), c => SendOverSocketAsync(c, c.World.CopiesFor(c.Device), 200)),
        new("* /v1/websocket", "socket message request sendMessages: a copy for A's removed device too", Authenticated(101, 101, 101), c => SendOverSocketAsync(c, [.. c.World.CopiesFor(c.Device), c.World.Removed], 409)),

        // Calls. Placing one: the offers must name the callee's live devices.
        new("POST /v1/calls", "the offers the caller must make to A", Authenticated(201, 201, 201), c => Http(HttpMethod.Post, "/v1/calls", World.CallBody(c.World.AccountId, c.World.CopiesFor(c.Device)))),
        new("POST /v1/calls", "an offer for A's removed device too", Authenticated(409, 409, 409), c => Http(HttpMethod.Post, "/v1/calls", World.CallBody(c.World.AccountId, [.. c.World.CopiesFor(c.Device), c.World.Removed]))),

        // The stranger calls A, ringing A's primary and companion.
        CallRow("answer", "the stranger calls A, ringing", Authenticated(403, 200, 200), StrangerCallsA()),
        CallRow("reject", "the stranger calls A, ringing", Authenticated(403, 204, 204), StrangerCallsA()),
        CallRow("hangup", "the stranger calls A, ringing", Authenticated(204, 204, 204), StrangerCallsA()),
        CallRow("ice", "the stranger calls A, ringing", Authenticated(409, 403, 403), StrangerCallsA()),

        // ... and A's primary answered: the call is between the stranger and A's primary only.
        CallRow("answer", "the stranger calls A, A's primary answered", Authenticated(403, 409, 409), StrangerCallsA(answeredByPrimary: true)),
        CallRow("reject", "the stranger calls A, A's primary answered", Authenticated(403, 409, 409), StrangerCallsA(answeredByPrimary: true)),
        CallRow("hangup", "the stranger calls A, A's primary answered", Authenticated(204, 403, 204), StrangerCallsA(answeredByPrimary: true)),
        CallRow("ice", "the stranger calls A, A's primary answered", Authenticated(204, 403, 204), StrangerCallsA(answeredByPrimary: true)),

        // ... and A's companion rejected it: ended for everyone who was in it.
        CallRow("answer", "the stranger calls A, A's companion rejected", Authenticated(409, 409, 409), StrangerCallsA(rejectedByCompanion: true)),
        CallRow("reject", "the stranger calls A, A's companion rejected", Authenticated(409, 409, 409), StrangerCallsA(rejectedByCompanion: true)),
        CallRow("hangup", "the stranger calls A, A's companion rejected", Authenticated(409, 409, 409), StrangerCallsA(rejectedByCompanion: true)),
        CallRow("ice", "the stranger calls A, A's companion rejected", Authenticated(409, 409, 409), StrangerCallsA(rejectedByCompanion: true)),

        // A's primary calls the stranger: A's companion is not in the call.
        CallRow("answer", "A's primary calls the stranger, ringing", Authenticated(200, 403, 403), PrimaryCallsStranger),
        CallRow("reject", "A's primary calls the stranger, ringing", Authenticated(204, 403, 403), PrimaryCallsStranger),
        CallRow("hangup", "A's primary calls the stranger, ringing", Authenticated(204, 403, 204), PrimaryCallsStranger),
        CallRow("ice", "A's primary calls the stranger, ringing", Authenticated(403, 403, 409), PrimaryCallsStranger),

        // A rung callee device fetches its own offer, while the call rings only (docs/protocol.md, "Fetching a call offer").
        new("GET /v1/calls/{callId}", "the stranger calls A, ringing", Authenticated(403, 200, 200), async c => await Http(HttpMethod.Get, $"/v1/calls/{await StrangerCallsA()(c)}")),
        new("GET /v1/calls/{callId}", "the stranger calls A, A's primary answered", Authenticated(403, 409, 409), async c => await Http(HttpMethod.Get, $"/v1/calls/{await StrangerCallsA(answeredByPrimary: true)(c)}")),
        new("GET /v1/calls/{callId}", "A's primary calls the stranger, ringing", Authenticated(200, 403, 403), async c => await Http(HttpMethod.Get, $"/v1/calls/{await PrimaryCallsStranger(c)}")),
        new("GET /v1/calls/{callId}", "a call id never issued", Authenticated(404, 404, 404), _ => Http(HttpMethod.Get, $"/v1/calls/{NewCallId()}")),

        // A call id nobody issued.
        CallRow("answer", "a call id never issued", Authenticated(404, 404, 404), _ => Task.FromResult(NewCallId())),
        CallRow("reject", "a call id never issued", Authenticated(404, 404, 404), _ => Task.FromResult(NewCallId())),
        CallRow("hangup", "a call id never issued", Authenticated(404, 404, 404), _ => Task.FromResult(NewCallId())),
        CallRow("ice", "a call id never issued", Authenticated(404, 404, 404), _ => Task.FromResult(NewCallId())),

        // The stranger called A; then A's companion was removed and a new one linked under its id: that one was never in
        // the call (docs/calls.md: a device linked after the call rang was never in it). The companion column is the new one.
        CallRow("answer", "the call rang a companion since replaced under the same id", Authenticated(403, 403, 200), CompanionReplacedAfterRingAsync),
        CallRow("reject", "the call rang a companion since replaced under the same id", Authenticated(403, 403, 204), CompanionReplacedAfterRingAsync),
        CallRow("hangup", "the call rang a companion since replaced under the same id", Authenticated(204, 403, 204), CompanionReplacedAfterRingAsync),
    ];

    private static Row CallRow(string action, string situation, Expect expected, Func<Cell, Task<string>> callFor) =>
        new($"POST /v1/calls/{{callId}}/{action}", situation, expected, async c =>
        {
            var callId = await callFor(c);
            return await Http(HttpMethod.Post, $"/v1/calls/{callId}/{action}", action is "answer" or "ice" ? new JsonObject { ["payload"] = World.Payload(action) } : null);
        });

    private static Func<Cell, Task<string>> StrangerCallsA(bool answeredByPrimary = false, bool rejectedByCompanion = false) => async c =>
    {
        var w = c.World;
        var callId = await w.CallAsync(w.Stranger, w.AccountId, [w.Primary, w.Companion]);
        if (answeredByPrimary)
        {
            await w.ActOnCallAsync(w.Primary, callId, "answer");
        }

        if (rejectedByCompanion)
        {
            await w.ActOnCallAsync(w.Companion, callId, "reject");
        }

        return callId;
    };

    private static Task<string> PrimaryCallsStranger(Cell c) => c.World.CallAsync(c.World.Primary, c.World.Stranger.AccountId, [c.World.Stranger]);

    private static async Task<string> CompanionReplacedAfterRingAsync(Cell c)
    {
        var w = c.World;
        var callId = await w.CallAsync(w.Stranger, w.AccountId, [w.Primary, w.Companion]);
        using (var http = w.ClientOf(w.Primary))
        using (var removal = await http.DeleteAsync($"/v1/devices/{w.Companion.DeviceId}"))
        {
            removal.EnsureSuccessStatusCode();
        }

        var successor = await Linking.LinkAsync(w.Silo, w.Primary, keyIndex: 3);
        Assert.Equal(w.Companion.DeviceId, successor.DeviceId);
        c.World = w with { Companion = successor };
        return callId;
    }

    private static string NewCallId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static Func<Cell, Task<Probe>> LinkWithTokenAsync(bool ownToken) => async c =>
    {
        // A fresh account to link into, so that each link finds room for one more device.
        var target = await TestAccounts.RegisterAsync(c.World.Silo);
        var token = await Linking.TokenAsync(c.World.Silo, ownToken ? target : c.World.Stranger);
        return await Http(HttpMethod.Put, "/v1/devices/link", Linking.NewRequest(target, token, keyIndex: 1).Body);
    };

    private static async Task<Probe> ProvisionAsync(Cell c)
    {
        var (socket, address) = await TestSocket.OpenProvisioningAsync(c.World.Silo);
        var probe = await Http(HttpMethod.Put, $"/v1/provisioning/{address}", new JsonObject { ["body"] = "a provisioning message" }, then: async a =>
        {
            if (a.Status == 204)
            {
                var frame = await socket.NextAsync("the provisioning message");
                Assert.Equal("a provisioning message", (string?)frame["body"]);
            }
        });
        return probe with { Cleanup = () => socket.DisposeAsync().AsTask() };
    }

    private static Task<Probe> RemoveAsync(Cell c, int deviceId) =>
        Http(HttpMethod.Delete, $"/v1/devices/{deviceId}", then: async a =>
        {
            // A refused removal, or one in another account, leaves A's devices as they were.
            if (a.Status != 204 || c.Caller == Caller.Stranger)
            {
                var expected = new[] { c.World.Primary.DeviceId, c.World.Companion.DeviceId };
                Assert.Equal(expected, (await c.World.DeviceIdsAsync()).Order());
            }
        });

    private static async Task<Probe> RemoveOtherCompanionAsync(Cell c)
    {
        var other = await Linking.LinkAsync(c.World.Silo, c.World.Primary, keyIndex: 3);
        return await Http(HttpMethod.Delete, $"/v1/devices/{other.DeviceId}", then: async a =>
            Assert.Equal(a.Status == 204 && c.Caller != Caller.Stranger, !(await c.World.DeviceIdsAsync()).Contains(other.DeviceId)));
    }

    private static async Task<Probe> FetchPrimaryQueueAsync(Cell c)
    {
        var id = await c.World.QueueAsync(c.World.Stranger, c.World.Primary, "for the primary only");
        return await Http(HttpMethod.Get, "/v1/messages", then: a =>
        {
            // Each device reads its own queue: the primary's envelope reaches no one else.
            Assert.Equal(c.Caller == Caller.Primary, a.Body.Contains(id, StringComparison.Ordinal));
            return Task.CompletedTask;
        });
    }

    private static async Task<Probe> AckPrimaryEnvelopeOverHttpAsync(Cell c)
    {
        var id = await c.World.QueueAsync(c.World.Stranger, c.World.Primary, "ack me over HTTP");
        return await Http(HttpMethod.Delete, $"/v1/messages/{id}", then: a => StillQueuedUnlessPrimaryAsync(c, id));
    }

    private static async Task<Probe> AckPrimaryEnvelopeOverSocketAsync(Cell c)
    {
        var id = await c.World.QueueAsync(c.World.Stranger, c.World.Primary, "ack me over the socket");
        return new Probe
        {
            Socket = ct => DeviceSocketAsync(c, inQuery: false, ackId: id, ct),
            Then = _ => StillQueuedUnlessPrimaryAsync(c, id),
        };
    }

    /// <summary>A <c>sendMessages</c> request over the caller's socket to A: each device that gets a socket gets <paramref name="expected"/> in the response.</summary>
    private static Task<Probe> SendOverSocketAsync(Cell c, IReadOnlyList<TestDevice> copies, int expected)
    {
        var request = new JsonObject
        {
            ["kind"] = "request",
            ["id"] = "matrix",
            ["type"] = "sendMessages",
            ["accountId"] = c.World.AccountId,
            ["body"] = Messages.Body(copies, "over the socket"),
        };
        return Task.FromResult(new Probe
        {
            Socket = ct => DeviceSocketAsync(c, inQuery: false, ackId: null, ct, request),
            Then = a =>
            {
                if (a.Status == 101)
                {
                    var response = JsonNode.Parse(a.Body)!;
                    Assert.True((int?)response["status"] == expected && (string?)response["id"] == "matrix", $"{c.Caller}: {a.Body}");
                }

                return Task.CompletedTask;
            },
        });
    }

    private static async Task StillQueuedUnlessPrimaryAsync(Cell c, string id)
    {
        var queued = await c.World.QueuedAsync(c.World.Primary);
        Assert.Equal(c.Caller != Caller.Primary, queued.Any(e => (string?)e["id"] == id));
    }

    private static Task OwnDevicesOnly(Cell c, Answer a)
    {
        if (a.Status == 200)
        {
            var ids = JsonNode.Parse(a.Body)!["devices"]!.AsArray().Select(d => (int)d!["deviceId"]!).Order();
            Assert.Equal(c.Caller == Caller.Stranger ? [1] : new[] { c.World.Primary.DeviceId, c.World.Companion.DeviceId }, ids);
        }

        return Task.CompletedTask;
    }

    private static Task ListsLiveDevicesOfA(Cell c, Answer a, string member)
    {
        if (a.Status == 200)
        {
            var ids = JsonNode.Parse(a.Body)![member]!.AsArray().Select(d => (int)d!["deviceId"]!).Order();
            Assert.Equal([c.World.Primary.DeviceId, c.World.Companion.DeviceId], ids);
        }

        return Task.CompletedTask;
    }

    private static JsonObject KeyUpload(TestDevice signer) => new()
    {
        ["signedPreKey"] = TestAccounts.SignedEcPreKey(signer.Identity, 7),
        ["kemLastResortKey"] = TestAccounts.KemPreKey(signer.Identity, 7),
        ["oneTimePreKeys"] = TestAccounts.OneTimePreKeys(500, 2),
    };

    /// <summary>Opens a device socket as the caller; with <paramref name="ackId"/>, reads the backlog, acks that id and closes.</summary>
    /// <remarks>With <paramref name="request"/>, reads the backlog, sends it and answers the response frame as the body.</remarks>
    private static async Task<Answer> DeviceSocketAsync(Cell c, bool inQuery, string? ackId, CancellationToken cancellationToken, JsonObject? request = null)
    {
        var device = c.Device;
        var password = c.Caller == Caller.WrongPassword ? World.WrongPassword : device?.Password;
        var path = inQuery && device is not null
            ? $"/v1/websocket?login={Escape(device.Login)}&password={Escape(password!)}"
            : "/v1/websocket";
        var (status, socket) = await OpenSocketAsync(c.World.Silo, path, inQuery ? null : c.Credentials, cancellationToken);
        if (socket is null)
        {
            return new Answer(status, "");
        }

        using (socket)
        {
            if (ackId is not null)
            {
                while ((string?)(await ReceiveJsonAsync(socket, cancellationToken))["kind"] != "queueEmpty")
                {
                }

                var ack = new JsonObject { ["kind"] = "ack", ["ids"] = new JsonArray(ackId) };
                await socket.SendAsync(Encoding.UTF8.GetBytes(ack.ToJsonString()), WebSocketMessageType.Text, true, cancellationToken);
            }

            if (request is not null)
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, cancellationToken);
                JsonObject frame;
                do
                {
                    frame = await ReceiveJsonAsync(socket, cancellationToken);
                }
                while ((string?)frame["kind"] != "response");

                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
                return new Answer(status, frame.ToJsonString());
            }

            // The server reads frames in order: once it has answered the close, the ack before it was applied.
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
            return new Answer(status, "");
        }
    }

    private static async Task<Answer> ProvisioningSocketAsync(Cell c, CancellationToken cancellationToken)
    {
        var (status, socket) = await OpenSocketAsync(c.World.Silo, "/v1/provisioning", c.Credentials, cancellationToken);
        if (socket is null)
        {
            return new Answer(status, "");
        }

        using (socket)
        {
            var first = await ReceiveJsonAsync(socket, cancellationToken);
            Assert.Equal("address", (string?)first["kind"]);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
            return new Answer(status, first.ToJsonString());
        }
    }

    /// <summary>Upgrades to a WebSocket; the upgrade's HTTP status, and the socket when it is 101.</summary>
    public static async Task<(int Status, ClientWebSocket? Socket)> OpenSocketAsync(TestSilo silo, string pathAndQuery, AuthenticationHeaderValue? credentials, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (credentials is not null)
        {
            socket.Options.SetRequestHeader("Authorization", credentials.ToString());
        }

        try
        {
            await socket.ConnectAsync(new Uri(new UriBuilder(silo.BaseAddress) { Scheme = "ws" }.Uri, pathAndQuery), cancellationToken);
            return ((int)socket.HttpStatusCode, socket);
        }
        catch (WebSocketException)
        {
            var status = (int)socket.HttpStatusCode;
            socket.Dispose();
            return (status, null);
        }
    }

    private static async Task<JsonObject> ReceiveJsonAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 20];
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            length += result.Count;
        }
        while (!result.EndOfMessage);

        return result.MessageType == WebSocketMessageType.Close
            ? throw new InvalidOperationException($"the server closed the socket ({socket.CloseStatus} {socket.CloseStatusDescription})")
            : JsonNode.Parse(buffer.AsSpan(0, length))!.AsObject();
    }

    /// <summary>
    /// A's primary stores version 1 of <c>regular</c>; the check then made of a 200 listing <paramref name="member"/>:
    /// A's devices see that version, the stranger none of it.
    /// </summary>
    private static async Task<Func<Answer, Task>> AppStateOfAAsync(Cell c, string? member)
    {
        using (var http = c.World.ClientOf(c.World.Primary))
        using (var upload = await http.PostAsJsonAsync("/v1/appstate/regular/patches", new JsonObject { ["version"] = 1, ["patch"] = World.Payload("app state of A") }))
        {
            upload.EnsureSuccessStatusCode();
        }

        return a =>
        {
            if (a.Status != 200)
            {
                return Task.CompletedTask;
            }

            var items = JsonNode.Parse(a.Body)![member ?? "collections"]!.AsArray();
            Assert.Equal(c.IsLiveDeviceOfA ? 1 : 0, items.Count);
            return Task.CompletedTask;
        };
    }

    // Version 2 follows A's version 1; the stranger's own collection is empty, so its first version is 1. Only A's
    // devices move A's collection on.
    private static async Task<Probe> AppStatePatchAsync(Cell c)
    {
        await AppStateOfAAsync(c, null);
        var body = new JsonObject { ["version"] = c.Caller == Caller.Stranger ? 1 : 2, ["patch"] = World.Payload("a patch") };
        return await Http(HttpMethod.Post, "/v1/appstate/regular/patches", body, then: async _ =>
        {
            using var http = c.World.ClientOf(c.World.Primary);
            var collection = await http.GetFromJsonAsync<JsonObject>("/v1/appstate/regular");
            Assert.Equal(c.IsLiveDeviceOfA ? 2 : 1, (long)collection!["version"]!);
        });
    }

    private static async Task<JsonObject> AppStateSnapshotAsync(Cell c)
    {
        await AppStateOfAAsync(c, null);
        return new JsonObject { ["version"] = 1, ["snapshot"] = World.Payload("a snapshot") };
    }

    private static Task<Probe> Http(HttpMethod method, string path, JsonNode? body = null, Func<Answer, Task>? then = null) =>
        Task.FromResult(new Probe
        {
            Request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) },
            Then = then,
        });

    private static string Escape(string value) => Uri.EscapeDataString(value);

    // A re-registration body for A after A's primary set a registration lock (the body carries no PIN).
    private static async Task<JsonObject> LockedAsync(Cell c)
    {
        using var http = c.World.Primary.CreateClient(c.World.Silo);
        using var set = await http.PutAsJsonAsync("/v1/account/registration-lock", new JsonObject { ["pin"] = "2468" });
        return set.StatusCode == System.Net.HttpStatusCode.NoContent
            ? TestAccounts.NewRegistration(accountId: c.World.AccountId).Body
            : throw new InvalidOperationException($"setting A's registration lock failed: {(int)set.StatusCode}");
    }

    // A registration body with a code the development sender sent for its number.
    private static async Task<JsonObject> VerifiedAsync(Cell c, JsonObject body)
    {
        body["verificationCode"] = await TestAccounts.VerificationCodeAsync(c.World.Silo, (string)body["accountId"]!);
        return body;
    }
}
