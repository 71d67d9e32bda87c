using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>The helpers of the re-registration, registration-lock and device-management tests.</summary>
internal static class NewPhones
{
    /// <summary>A silo on one engine (a fresh PostgreSQL database, or SQLite), stopped and dropped on dispose.</summary>
    internal sealed class RunningSilo(TestSilo silo, PostgresDatabase? database) : IAsyncDisposable
    {
        public TestSilo Silo { get; } = silo;

        public async ValueTask DisposeAsync()
        {
            await Silo.DisposeAsync();
            if (database is not null)
            {
                await database.DisposeAsync();
            }
        }
    }

    public static TheoryData<StorageKind> Engines() => [StorageKind.Sqlite, StorageKind.PostgreSql];

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>
    /// A silo on <paramref name="engine"/> with <paramref name="time"/> (standing still unless the test advances it) and
    /// the given settings (every test silo hashes PINs cheaply: the iteration count is a cost, not a behaviour).
    /// </summary>
    public static async Task<RunningSilo> StartAsync(StorageKind engine, FakeTimeProvider? time = null, params (string Key, string Value)[] settings)
    {
        var database = engine == StorageKind.PostgreSql ? await PostgresDatabase.CreateAsync() : null;
        if (database is not null)
        {
            await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        }

        var silo = await TestSilo.StartAsync(
            RateLimits.With(time, settings) with { PostgresConnectionString = database?.ConnectionString, ClusterId = $"lifecycle-{Guid.NewGuid():N}" }, Cancel);
        return new RunningSilo(silo, database);
    }

    /// <summary>A verified registration of <paramref name="accountId"/> with fresh keys (a new phone), optionally with a PIN.</summary>
    public static async Task<(TestDevice Device, HttpResponseMessage Response)> ReRegisterAsync(TestSilo silo, string accountId, string? pin = null)
    {
        var (device, body) = TestAccounts.NewRegistration(accountId: accountId);
        if (pin is not null)
        {
            body["registrationLock"] = pin;
        }

        using var http = silo.CreateHttpClient();
        return (device, await TestAccounts.PostRegistrationAsync(silo, http, body));
    }

    public static async Task<HttpResponseMessage> SetLockAsync(TestSilo silo, TestDevice device, string pin)
    {
        using var http = device.CreateClient(silo);
        return await http.PutAsJsonAsync("/v1/account/registration-lock", new JsonObject { ["pin"] = pin }, Cancel);
    }

    /// <summary>Insists on <paramref name="status"/> with <paramref name="error"/>; returns the body.</summary>
    public static async Task<JsonObject> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == status, $"expected {(int)status} {error}, got {(int)response.StatusCode}: {text}");
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(error, (string?)body["error"]);
        return body;
    }

    public static async Task<HttpStatusCode> StatusOfDevicesAsync(TestSilo silo, TestDevice device)
    {
        using var http = device.CreateClient(silo);
        using var response = await http.GetAsync("/v1/devices", Cancel);
        return response.StatusCode;
    }

    /// <summary>The next event of <paramref name="type"/> on <paramref name="socket"/>, skipping other frames.</summary>
    public static async Task<JsonObject> NextEventAsync(TestSocket socket, string type)
    {
        while (true)
        {
            var frame = await socket.NextAsync($"a {type} event");
            if ((string?)frame["kind"] == "event" && (string?)frame["event"]!["type"] == type)
            {
                return frame["event"]!.AsObject();
            }
        }
    }
}
