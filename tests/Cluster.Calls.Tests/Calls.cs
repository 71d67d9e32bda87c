using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Devices;
using Cluster.Testing;

namespace Cluster.Calls.Tests;

/// <summary>A test client's side of the call API: bodies, requests, and the events a device's socket receives.</summary>
internal static class Calls
{
    /// <summary>A fresh opaque payload (what a real client seals with its Signal session).</summary>
    public static byte[] NewPayload() => RandomNumberGenerator.GetBytes(48);

    /// <summary>The usual cast, on fresh accounts: a caller with one device (a1) and a callee with a primary (b1) and a companion (b2).</summary>
    public static async Task<(TestDevice A1, TestDevice B1, TestDevice B2)> CallerAndCalleeAsync(TestSilo silo)
    {
        var a1 = await TestAccounts.RegisterAsync(silo);
        var b1 = await TestAccounts.RegisterAsync(silo);
        var b2 = await TestAccounts.AddCompanionAsync(silo, b1);
        return (a1, b1, b2);
    }

    /// <summary>A <c>POST /v1/calls</c> body with one offer per device, each carrying that device's payload.</summary>
    public static JsonObject StartBody(string to, IEnumerable<TestDevice> devices, IReadOnlyDictionary<TestDevice, byte[]> payloads) => new()
    {
        ["to"] = to,
        ["offers"] = new JsonArray(devices.Select(d => (JsonNode)new JsonObject
        {
            ["deviceId"] = d.DeviceId,
            ["registrationId"] = d.RegistrationId,
            ["payload"] = Convert.ToBase64String(payloads[d]),
        }).ToArray()),
    };

    /// <summary>A fresh payload for each device.</summary>
    public static Dictionary<TestDevice, byte[]> PayloadsFor(IEnumerable<TestDevice> devices) => devices.ToDictionary(d => d, _ => NewPayload());

    public static Task<HttpResponseMessage> StartAsync(HttpClient caller, JsonObject body, CancellationToken cancellationToken) =>
        caller.PostAsJsonAsync("/v1/calls", body, cancellationToken);

    /// <summary>Starts a call and insists on 201; returns the call id.</summary>
    public static async Task<string> StartOkAsync(HttpClient caller, JsonObject body, CancellationToken cancellationToken)
    {
        using var response = await StartAsync(caller, body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"starting the call answered {(int)response.StatusCode} {text}");
        return (string)JsonNode.Parse(text)!["callId"]!;
    }

    /// <summary><c>POST /v1/calls/{callId}/{action}</c>, with a <c>{payload}</c> body when one is given.</summary>
    public static Task<HttpResponseMessage> ActAsync(HttpClient device, string callId, string action, byte[]? payload, CancellationToken cancellationToken)
    {
        var uri = $"/v1/calls/{callId}/{action}";
        return payload is null
            ? device.PostAsync(uri, null, cancellationToken)
            : device.PostAsJsonAsync(uri, new JsonObject { ["payload"] = Convert.ToBase64String(payload) }, cancellationToken);
    }

    /// <summary>Acts and returns the status code and the error code of the body (null when there is none).</summary>
    public static async Task<(HttpStatusCode Status, string? Error)> TryActAsync(HttpClient device, string callId, string action, byte[]? payload, CancellationToken cancellationToken)
    {
        using var response = await ActAsync(device, callId, action, payload, cancellationToken);
        return (response.StatusCode, await ErrorOfAsync(response, cancellationToken));
    }

    public static async Task<string?> ErrorOfAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length > 0 && JsonNode.Parse(text) is JsonObject body ? (string?)body["error"] : null;
    }

    /// <summary>The next frame must be an event of <paramref name="type"/> about <paramref name="callId"/>; returns the event.</summary>
    public static async Task<JsonObject> NextEventAsync(this TestSocket socket, string type, string callId, string device)
    {
        var frame = await socket.NextAsync($"a {type} event for {device}");
        Assert.True((string?)frame["kind"] == "event" && (string?)frame["event"]?["type"] == type, $"{device} expected {type}, got {frame.ToJsonString()}");
        var ev = frame["event"]!.AsObject();
        Assert.Equal(callId, (string?)ev["callId"]);
        return ev;
    }

    /// <summary>The bytes of a base64 member.</summary>
    public static byte[] Bytes(JsonObject ev, string member) => Convert.FromBase64String((string)ev[member]!);

    /// <summary>
    /// Proves that nothing reached <paramref name="device"/>'s socket before now: pushes a marker event through its
    /// device grain (the path every call event takes) and insists that it is the next frame.
    /// </summary>
    public static async Task AssertNothingElseAsync(TestSilo silo, TestDevice device, TestSocket socket)
    {
        var marker = Guid.NewGuid().ToString();
        await silo.Grains.GetGrain<IDeviceGrain>(device.Login)
            .PublishEventAsync(System.Text.Encoding.UTF8.GetBytes($$"""{"type":"marker","id":"{{marker}}"}"""));
        var frame = await socket.NextAsync($"the marker event for {device.Login}");
        Assert.True((string?)frame["event"]?["id"] == marker, $"{device.Login} got something else first: {frame.ToJsonString()}");
    }

    /// <summary>Connects a device's socket and reads its (empty) backlog.</summary>
    public static async Task<TestSocket> ConnectAsync(TestSilo silo, TestDevice device, CancellationToken cancellationToken)
    {
        var socket = await TestSocket.ConnectAsync(silo, device, cancellationToken);
        Assert.Empty(await socket.ReadBacklogAsync());
        return socket;
    }
}

/// <summary>Sockets and HTTP clients of a test's devices, disposed together.</summary>
internal sealed class Devices(TestSilo silo) : IAsyncDisposable
{
    private readonly Dictionary<TestDevice, TestSocket> sockets = [];
    private readonly Dictionary<TestDevice, HttpClient> clients = [];

    /// <summary>The devices' sockets, connected and past their backlog, and their clients; disposed together.</summary>
    public static async Task<Devices> ConnectedAsync(TestSilo silo, CancellationToken cancellationToken, params TestDevice[] devices)
    {
        var connected = new Devices(silo);
        try
        {
            await connected.ConnectAsync(cancellationToken, devices);
            return connected;
        }
        catch
        {
            await connected.DisposeAsync();
            throw;
        }
    }

    public TestSocket Socket(TestDevice device) => sockets[device];

    public HttpClient Client(TestDevice device)
    {
        if (!clients.TryGetValue(device, out var client))
        {
            clients[device] = client = device.CreateClient(silo);
        }

        return client;
    }

    public async Task ConnectAsync(CancellationToken cancellationToken, params TestDevice[] devices)
    {
        foreach (var device in devices)
        {
            sockets[device] = await Calls.ConnectAsync(silo, device, cancellationToken);
        }
    }

    /// <summary>Connects a device that was offline and returns the envelopes stored for it meanwhile.</summary>
    public async Task<List<JsonObject>> ConnectWithBacklogAsync(TestDevice device, CancellationToken cancellationToken)
    {
        var socket = await TestSocket.ConnectAsync(silo, device, cancellationToken);
        sockets[device] = socket;
        return await socket.ReadBacklogAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var socket in sockets.Values)
        {
            await socket.DisposeAsync();
        }

        foreach (var client in clients.Values)
        {
            client.Dispose();
        }
    }
}
