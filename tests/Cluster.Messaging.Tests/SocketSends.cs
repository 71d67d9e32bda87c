using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Messaging.Tests;

/// <summary>Sends over the device socket as a client frames them (docs/protocol.md, "Requests over the device socket"), and their answers.</summary>
internal static class SocketSends
{
    /// <summary>A <c>sendMessages</c> request frame.</summary>
    public static string Request(string id, string destination, JsonObject body) => new JsonObject
    {
        ["kind"] = "request",
        ["id"] = id,
        ["type"] = "sendMessages",
        ["accountId"] = destination,
        ["body"] = body.DeepClone(),
    }.ToJsonString();

    public static Task SendAsync(TestSocket socket, string id, string destination, JsonObject body) => socket.SendRawAsync(Request(id, destination, body));

    /// <summary>The next response or error frame (envelopes, events and queueEmpty before it are skipped).</summary>
    public static async Task<JsonObject> NextAnswerAsync(TestSocket socket, string expected)
    {
        while (true)
        {
            var frame = await socket.NextAsync(expected);
            if ((string?)frame["kind"] is "response" or "error")
            {
                return frame;
            }
        }
    }

    /// <summary>Sends over the socket and returns the response, which must carry the request's id.</summary>
    public static async Task<JsonObject> AnswerAsync(TestSocket socket, string destination, JsonObject body)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendAsync(socket, id, destination, body);
        var response = await NextAnswerAsync(socket, $"the response to request {id}");
        Assert.Equal("response", (string?)response["kind"]);
        Assert.Equal(id, (string?)response["id"]);
        return response;
    }

    /// <summary>What HTTP answers the same send: the status and the body.</summary>
    public static async Task<(int Status, JsonNode? Body)> HttpAnswerAsync(HttpClient client, string destination, JsonObject body, CancellationToken cancellationToken)
    {
        using var response = await Messages.SendAsync(client, destination, body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return ((int)response.StatusCode, JsonNode.Parse(text));
    }

    /// <summary>Asserts that a socket response is what HTTP answered: the same status and the same body.</summary>
    public static void SameAnswer((int Status, JsonNode? Body) http, JsonObject response, string what)
    {
        Assert.True(
            http.Status == (int)response["status"]! && JsonNode.DeepEquals(http.Body, response["body"]),
            $"{what}: HTTP answered {http.Status} {http.Body?.ToJsonString()}, the socket {response.ToJsonString()}");
    }

    /// <summary>The envelopes queued for <paramref name="device"/>, read over HTTP (without acking them).</summary>
    public static async Task<List<JsonObject>> QueuedAsync(TestSilo silo, TestDevice device, CancellationToken cancellationToken)
    {
        using var client = device.CreateClient(silo);
        var page = await client.GetFromJsonAsync<JsonObject>("/v1/messages", cancellationToken);
        return [.. page!["envelopes"]!.AsArray().Select(e => e!.AsObject())];
    }
}
