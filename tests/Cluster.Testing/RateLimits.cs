using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Cluster.Testing;

/// <summary>Checks of the refusal a limit answers: its status, <c>Retry-After</c>, error code and the limit it names.</summary>
public static class RateLimits
{
    /// <summary>
    /// Settings for a silo with the given limits (the rest stay out of reach, as on every test silo), on
    /// <paramref name="time"/> or else a fake clock that stands still, so that every <c>Retry-After</c> is exact.
    /// </summary>
    public static TestSiloSettings With(Microsoft.Extensions.Time.Testing.FakeTimeProvider? time, params (string Key, string Value)[] settings) => new()
    {
        Time = time ?? new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow),
        Settings = settings.ToDictionary(s => s.Key, s => s.Value),
    };

    /// <summary>Asserts a 429 <c>rate_limited</c> naming <paramref name="limit"/>, with <c>Retry-After</c> of <paramref name="retryAfterSeconds"/>.</summary>
    public static async Task AssertLimitedAsync(HttpResponseMessage response, string limit, int retryAfterSeconds, HttpStatusCode status = HttpStatusCode.TooManyRequests, string error = "rate_limited")
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} for limit {limit}, got {(int)response.StatusCode}: {body}");
        var json = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(error, (string?)json["error"]);
        Assert.Equal(limit, (string?)json["limit"]);
        Assert.Equal(TimeSpan.FromSeconds(retryAfterSeconds), response.Headers.RetryAfter?.Delta);
    }

    /// <summary>The <c>limit</c> a refusal names, or null for any other answer.</summary>
    public static async Task<string?> LimitOfAsync(HttpResponseMessage response) =>
        response.Content.Headers.ContentLength is 0 ? null : (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())?["limit"];
}
