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
