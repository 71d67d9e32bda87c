using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Cluster.Testing;

/// <summary>Builds and sends <c>PUT /v1/messages</c> bodies the way a client fans out: one copy per device.</summary>
public static class Messages
{
    /// <summary>A body with one copy per device; each copy's content is <c>text</c> addressed to that device.</summary>
    public static JsonObject Body(IEnumerable<TestDevice> devices, string text, string? clientMessageId = null, bool online = false, int type = 1)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(devices.Select(d => (JsonNode)new JsonObject
            {
                ["deviceId"] = d.DeviceId,
                ["registrationId"] = d.RegistrationId,
                ["type"] = type,
                ["content"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(Content(text, d))),
            }).ToArray()),
            ["timestamp"] = 1_700_000_000_000,
            ["online"] = online,
        };
        if (clientMessageId is not null)
        {
            body["clientMessageId"] = clientMessageId;
        }

        return body;
    }

    /// <summary>What a copy of <paramref name="text"/> for <paramref name="device"/> carries.</summary>
    public static string Content(string text, TestDevice device) => $"{text} for {device.Login}";

    /// <summary>The decoded content of a received envelope.</summary>
    public static string ContentOf(JsonObject envelope) => Encoding.UTF8.GetString(Convert.FromBase64String((string)envelope["content"]!));

    public static Task<HttpResponseMessage> SendAsync(HttpClient sender, string destination, JsonObject body, CancellationToken cancellationToken = default) =>
        sender.PutAsJsonAsync($"/v1/messages/{Uri.EscapeDataString(destination)}", body, cancellationToken);

    /// <summary>Sends and insists on 200.</summary>
    public static async Task<JsonObject> SendOkAsync(HttpClient sender, string destination, JsonObject body, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(sender, destination, body, cancellationToken);
        var answer = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode
            ? JsonNode.Parse(answer)!.AsObject()
            : throw new InvalidOperationException($"send failed: {(int)response.StatusCode} {answer}");
    }
}
