using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.AppState.Tests;

/// <summary>The app state routes as a test client calls them, with the raw answers kept for asserting.</summary>
internal static class AppStateCalls
{
    public static string Data(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static string Text(JsonNode? item) => Encoding.UTF8.GetString(Convert.FromBase64String((string)item!["data"]!));

    public static async Task<(HttpStatusCode Status, JsonObject Body)> PatchAsync(HttpClient http, string collection, long version, string text) =>
        await SendAsync(http, HttpMethod.Post, $"/v1/appstate/{collection}/patches", new JsonObject { ["version"] = version, ["patch"] = Data(text) });

    public static async Task<(HttpStatusCode Status, JsonObject Body)> SnapshotAsync(HttpClient http, string collection, long version, string text) =>
        await SendAsync(http, HttpMethod.Put, $"/v1/appstate/{collection}/snapshot", new JsonObject { ["version"] = version, ["snapshot"] = Data(text) });

    public static async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpClient http, HttpMethod method, string path, JsonNode? body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject());
    }

    /// <summary>Stores versions <paramref name="from"/> to <paramref name="to"/> as <c>p{version}</c>, each one asserted stored.</summary>
    public static async Task PatchesAsync(HttpClient http, string collection, long from, long to)
    {
        for (var version = from; version <= to; version++)
        {
            var (status, body) = await PatchAsync(http, collection, version, $"p{version}");
            Assert.True(status == HttpStatusCode.OK, $"patch {version}: {(int)status} {body.ToJsonString()}");
        }
    }

    public static async Task<JsonObject> FetchAsync(HttpClient http, string collection, long since, int? limit = null)
    {
        var (status, body) = await SendAsync(http, HttpMethod.Get, $"/v1/appstate/{collection}?since={since}" + (limit is { } l ? $"&limit={l}" : ""), null);
        Assert.True(status == HttpStatusCode.OK, $"fetch since {since}: {(int)status} {body.ToJsonString()}");
        return body;
    }

    /// <summary>What a device at <paramref name="since"/> ends up holding, following <c>more</c> page by page.</summary>
    public static async Task<CaughtUp> CatchUpAsync(HttpClient http, string collection, long since, int? limit = null)
    {
        string? snapshot = null;
        long? snapshotVersion = null;
        var patches = new List<(long Version, string Text)>();
        var position = since;
        while (true)
        {
            var page = await FetchAsync(http, collection, position, limit);
            if (page["snapshot"] is JsonObject s)
            {
                snapshotVersion = (long)s["version"]!;
                snapshot = Text(s);
                patches.Clear();
                position = snapshotVersion.Value;
            }

            foreach (var patch in page["patches"]!.AsArray())
            {
                patches.Add(((long)patch!["version"]!, Text(patch)));
                position = (long)patch["version"]!;
            }

            if (!(bool)page["more"]!)
            {
                return new CaughtUp(snapshotVersion, snapshot, patches, (long)page["version"]!, position);
            }
        }
    }

    /// <summary>Waits for the next <c>appStateChanged</c> event, skipping other frames (the backlog's end).</summary>
    public static async Task<JsonObject> NextAppStateChangedAsync(TestSocket socket)
    {
        while (true)
        {
            var frame = await socket.NextAsync("an appStateChanged event");
            if (frame["event"] is JsonObject e && (string?)e["type"] == "appStateChanged")
            {
                return e;
            }
        }
    }
}

/// <summary>A device's state after catching up: the snapshot it started from (if any) and the patches after it.</summary>
internal sealed record CaughtUp(long? SnapshotVersion, string? Snapshot, List<(long Version, string Text)> Patches, long Latest, long Position);
