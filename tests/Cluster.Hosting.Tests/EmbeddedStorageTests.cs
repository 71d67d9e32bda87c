using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Hosting.Tests;

public sealed class EmbeddedStorageTests
{
    [Fact]
    public async Task Restart_SameDataFile_AccountStateSurvives()
    {
        var directory = Directory.CreateTempSubdirectory("cluster-restart-");
        var dataPath = Path.Combine(directory.FullName, "cluster.db");
        TestDevice device;
        await using (var first = await TestSilo.StartAsync(new TestSiloSettings { DataPath = dataPath }, TestContext.Current.CancellationToken))
        {
            device = await TestAccounts.RegisterAsync(first);
        }

        Assert.True(File.Exists(dataPath), "the embedded database file should exist after the first run");
        await using var second = await TestSilo.StartAsync(new TestSiloSettings { DataPath = dataPath }, TestContext.Current.CancellationToken);
        using var http = device.CreateClient(second);
        var devices = await http.GetFromJsonAsync<JsonObject>("/v1/devices", TestContext.Current.CancellationToken);

        var listed = Assert.Single(devices!["devices"]!.AsArray());
        Assert.Equal(1, (int)listed!["deviceId"]!);
        Assert.Equal(device.RegistrationId, (int)listed["registrationId"]!);
    }

    [Fact]
    public async Task Start_SecondSiloOnSameFile_RefusedNamingTheFile()
    {
        await using var first = await TestSilo.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        var refusal = await Assert.ThrowsAnyAsync<Exception>(() =>
            TestSilo.StartAsync(new TestSiloSettings { DataPath = first.DataPath }, TestContext.Current.CancellationToken));

        Assert.Contains(first.DataPath!, refusal.Message, StringComparison.Ordinal);
        using var http = first.CreateHttpClient();
        using var ready = await http.GetAsync("/health/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}
