using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Groups.Tests;

/// <summary>The group routes as a test client calls them, with the raw answers kept for asserting.</summary>
internal static class Groups
{
    public static async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpClient http, HttpMethod method, string path, JsonNode? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject());
    }

    public static Task<(HttpStatusCode Status, JsonObject Body)> CreateAsync(HttpClient http, params string[] members) =>
        SendAsync(http, HttpMethod.Post, "/v1/groups", new JsonObject { ["members"] = new JsonArray([.. members.Select(m => JsonValue.Create(m))]) });

    /// <summary>Creates a group of <paramref name="creator"/> and <paramref name="members"/>, asserted 201; its id.</summary>
    public static async Task<string> CreatedAsync(HttpClient creator, params string[] members)
    {
        var (status, body) = await CreateAsync(creator, members);
        Assert.True(status == HttpStatusCode.Created, $"{(int)status} {body.ToJsonString()}");
        return (string)body["groupId"]!;
    }

    public static string[] Strings(JsonNode? array) => [.. array!.AsArray().Select(n => (string)n!)];

    public static async Task<TestDevice[]> AccountsAsync(TestSilo silo, int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => TestAccounts.RegisterAsync(silo)));
}

/// <summary>Waiting for group events on a device socket.</summary>
internal static class GroupEvents
{
    /// <summary>Waits for the next <c>groupChanged</c> event, skipping other frames.</summary>
    public static async Task<JsonObject> NextGroupChangedAsync(TestSocket socket)
    {
        while (true)
        {
            var frame = await socket.NextAsync("a groupChanged event");
            if (frame["event"] is JsonObject e && (string?)e["type"] == "groupChanged")
            {
                return e;
            }
        }
    }
}

/// <summary>Group sends as a test client makes them: one content, and the sender's view of every member's devices.</summary>
internal static class GroupSends
{
    public const string Content = "one sender-key ciphertext";

    /// <summary>
    /// The view a sender that knows <paramref name="devices"/> sends: every device but the sender's own, grouped by account,
    /// with the sender's account listed even when it has no other device.
    /// </summary>
    public static JsonArray View(TestDevice sender, IEnumerable<TestDevice> devices, Func<TestDevice, int>? registrationId = null) =>
        new([.. devices.Append(sender).GroupBy(d => d.AccountId).Select(account => (JsonNode)new JsonObject
        {
            ["accountId"] = account.Key,
            ["devices"] = new JsonArray([.. account.Where(d => d.Login != sender.Login).DistinctBy(d => d.DeviceId).Select(d => (JsonNode)new JsonObject
            {
                ["deviceId"] = d.DeviceId,
                ["registrationId"] = registrationId?.Invoke(d) ?? d.RegistrationId,
            })]),
        })]);

    public static JsonObject Body(JsonArray recipients, string content = Content, string? clientMessageId = null)
    {
        var body = new JsonObject
        {
            ["recipients"] = recipients,
            ["content"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(content)),
            ["timestamp"] = 1_700_000_000_000,
        };
        if (clientMessageId is not null)
        {
            body["clientMessageId"] = clientMessageId;
        }

        return body;
    }

    public static Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpClient sender, string groupId, JsonObject body) =>
        Groups.SendAsync(sender, HttpMethod.Put, $"/v1/groups/{groupId}/messages", body);

    /// <summary>Sends and insists on 200.</summary>
    public static async Task SendOkAsync(HttpClient sender, string groupId, JsonObject body)
    {
        var (status, answer) = await SendAsync(sender, groupId, body);
        Assert.True(status == HttpStatusCode.OK, $"{(int)status} {answer.ToJsonString()}");
    }

    /// <summary>What is queued for <paramref name="device"/> (<c>GET /v1/messages</c>): after a 200, every copy of it is there.</summary>
    public static async Task<JsonObject[]> QueuedAsync(TestSilo silo, TestDevice device)
    {
        using var http = device.CreateClient(silo);
        var (status, page) = await Groups.SendAsync(http, HttpMethod.Get, "/v1/messages");
        Assert.Equal(HttpStatusCode.OK, status);
        return [.. page["envelopes"]!.AsArray().Select(e => e!.AsObject())];
    }

    /// <summary>The (account, missing, extra) of each account in a 409 body.</summary>
    public static (string, int[], int[])[] Mismatches(JsonObject body) =>
        [.. body["accounts"]!.AsArray().Select(a => ((string)a!["accountId"]!, Ints(a["missingDevices"]), Ints(a["extraDevices"])))];

    /// <summary>One account's entry of a 409 as one comparable line.</summary>
    public static string Flat((string Account, int[] Missing, int[] Extra) mismatch) =>
        $"{mismatch.Account} missing [{string.Join(',', mismatch.Missing)}] extra [{string.Join(',', mismatch.Extra)}]";

    public static int[] Ints(JsonNode? array) => [.. array!.AsArray().Select(n => (int)n!)];

    /// <summary>A group of fresh accounts with the given device counts; the first account's primary created it. Devices in account order.</summary>
    public static async Task<(string GroupId, TestDevice[] Devices)> GroupAsync(TestSilo silo, params int[] deviceCounts)
    {
        var primaries = await Groups.AccountsAsync(silo, deviceCounts.Length);
        var devices = new List<TestDevice>();
        for (var a = 0; a < primaries.Length; a++)
        {
            devices.Add(primaries[a]);
            for (var i = 1; i < deviceCounts[a]; i++)
            {
                devices.Add(await TestAccounts.AddCompanionAsync(silo, primaries[a]));
            }
        }

        using var creator = primaries[0].CreateClient(silo);
        var groupId = await Groups.CreatedAsync(creator, [.. primaries.Skip(1).Select(p => p.AccountId)]);
        return (groupId, [.. devices]);
    }
}
