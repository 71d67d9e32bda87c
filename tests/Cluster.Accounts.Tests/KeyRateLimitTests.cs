using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

public sealed class KeyRateLimitTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FetchBundle_OverBurst_TooManyRequestsUntilRefilled()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Time = time,
            Settings = new Dictionary<string, string> { ["Keys:FetchLimit:Burst"] = "3", ["Keys:FetchLimit:RefillSeconds"] = "5" },
        }, Cancel);
        var bob = await TestAccounts.RegisterAsync(silo);
        var alice = await TestAccounts.RegisterAsync(silo);
        var carol = await TestAccounts.RegisterAsync(silo);
        using var aliceHttp = alice.CreateClient(silo);
        using var carolHttp = carol.CreateClient(silo);
        var path = $"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/*";

        for (var i = 0; i < 3; i++)
        {
            using var allowed = await aliceHttp.GetAsync(path, Cancel);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        using var limited = await aliceHttp.GetAsync(path, Cancel);
        using var otherRequester = await carolHttp.GetAsync(path, Cancel);
        time.Advance(TimeSpan.FromSeconds(5));
        using var refilled = await aliceHttp.GetAsync(path, Cancel);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), limited.Headers.RetryAfter?.Delta);
        Assert.Equal("rate_limited", (string?)(await limited.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
        Assert.Equal(HttpStatusCode.OK, otherRequester.StatusCode);
        Assert.Equal(HttpStatusCode.OK, refilled.StatusCode);
    }

    [Fact]
    public async Task FetchBundle_AcrossRestart_OneTimeKeyNeverHandedOutTwice()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-keys-").FullName, "cluster.db");
        TestDevice bob;
        TestDevice alice;
        int firstKey;
        await using (var silo = await TestSilo.StartAsync(new TestSiloSettings { DataPath = dataPath }, Cancel))
        {
            bob = await TestAccounts.RegisterAsync(silo, oneTimeKeys: 3);
            alice = await TestAccounts.RegisterAsync(silo);
            using var http = alice.CreateClient(silo);
            var bundle = await http.GetFromJsonAsync<JsonObject>($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/1", Cancel);
            firstKey = (int)bundle!["devices"]![0]!["oneTimePreKey"]!["keyId"]!;
        }

        await using var restarted = await TestSilo.StartAsync(new TestSiloSettings { DataPath = dataPath }, Cancel);
        using var again = alice.CreateClient(restarted);
        var keys = new List<int?>();
        for (var i = 0; i < 3; i++)
        {
            var bundle = await again.GetFromJsonAsync<JsonObject>($"/v1/keys/{Uri.EscapeDataString(bob.AccountId)}/1", Cancel);
            keys.Add((int?)bundle!["devices"]![0]!["oneTimePreKey"]?["keyId"]);
        }

        Assert.Equal(100, firstKey);
        Assert.Equal([101, 102, null], keys);
    }
}
