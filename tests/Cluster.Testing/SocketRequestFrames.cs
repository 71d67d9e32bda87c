using System.Text.Json.Nodes;

namespace Cluster.Testing;

/// <summary>
/// Requests over the device socket as a client frames them (docs/protocol.md, "Requests over the device socket"), of
/// any type, and the comparison of their answers with what HTTP answers the same request.
/// </summary>
public static class SocketRequestFrames
{
    /// <summary>A request frame: <c>{"kind":"request","id","type",...route parameters,"body"?}</c>.</summary>
    public static string Request(string id, string type, JsonObject? parameters, JsonNode? body)
    {
        var frame = new JsonObject { ["kind"] = "request", ["id"] = id, ["type"] = type };
        foreach (var (name, value) in parameters ?? [])
        {
            frame[name] = value?.DeepClone();
        }

        if (body is not null)
        {
            frame["body"] = body.DeepClone();
        }

        return frame.ToJsonString();
    }

    /// <summary>Sends a request over the socket and returns its response (envelopes and events before it skipped), which must carry its id.</summary>
    public static async Task<JsonObject> AnswerAsync(TestSocket socket, string type, JsonObject? parameters, JsonNode? body)
    {
        var id = Guid.NewGuid().ToString("N");
        await socket.SendRawAsync(Request(id, type, parameters, body));
        while (true)
        {
            var frame = await socket.NextAsync($"the response to {type} request {id}");
            if ((string?)frame["kind"] is "response" or "error")
            {
                Assert.True((string?)frame["kind"] == "response" && (string?)frame["id"] == id, $"expected the response to {id}, got {frame.ToJsonString()}");
                return frame;
            }
        }
    }

    /// <summary>What HTTP answers: the status, the body (null when empty) and <c>Retry-After</c> in seconds.</summary>
    public static async Task<HttpAnswer> HttpAsync(HttpClient client, HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = body is null ? null : new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return new HttpAnswer((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), (int?)response.Headers.RetryAfter?.Delta?.TotalSeconds);
    }

    /// <summary>
    /// Asserts that a socket response is what HTTP answered: the same status, the same body (an empty HTTP body is
    /// <c>"body":null</c>) and <c>retryAfter</c> equal to <c>Retry-After</c>. <paramref name="ignore"/> names body members
    /// that differ by nature (a fresh call id).
    /// </summary>
    public static void SameAnswer(HttpAnswer http, JsonObject response, string what, params string[] ignore)
    {
        var httpBody = http.Body?.DeepClone();
        var socketBody = response["body"]?.DeepClone();
        foreach (var name in ignore)
        {
            (httpBody as JsonObject)?.Remove(name);
            (socketBody as JsonObject)?.Remove(name);
        }

        Assert.True(
            http.Status == (int)response["status"]! && JsonNode.DeepEquals(httpBody, socketBody) && http.RetryAfterSeconds == (int?)response["retryAfter"],
            $"{what}: HTTP answered {http.Status} (Retry-After {http.RetryAfterSeconds}) {http.Body?.ToJsonString()}, the socket {response.ToJsonString()}");
    }

    /// <summary>An HTTP answer as <see cref="SameAnswer"/> compares it.</summary>
    public sealed record HttpAnswer(int Status, JsonNode? Body, int? RetryAfterSeconds);
}
