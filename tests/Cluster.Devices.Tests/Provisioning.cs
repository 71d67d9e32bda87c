using System.Buffers.Text;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Cluster.Devices.Tests;

/// <summary>The primary's side of provisioning: <c>PUT /v1/provisioning/{address}</c>.</summary>
internal static class Provisioning
{
    public static Task<HttpResponseMessage> PutAsync(HttpClient client, string address, string body, CancellationToken cancellationToken = default) =>
        client.PutAsJsonAsync($"/v1/provisioning/{Uri.EscapeDataString(address)}", new JsonObject { ["body"] = body }, cancellationToken);

    /// <summary>A well-formed address no socket ever had.</summary>
    public static string UnusedAddress() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

    /// <summary>The error code of an error answer.</summary>
    public static async Task<string?> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        return (string?)body?["error"];
    }
}
