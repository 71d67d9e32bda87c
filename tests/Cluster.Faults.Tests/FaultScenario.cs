using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Faults.Tests;

/// <summary>
/// Real devices on real sockets against a cluster of silo processes: accounts with a primary and a companion, sockets
/// spread over every silo, paced traffic while a fault runs, then the accounting of every envelope.
/// </summary>
public sealed class FaultScenario : IAsyncDisposable
{
    private const int Accounts = 4;

    /// <summary>Time for the last envelopes to arrive once traffic stops: covers a socket re-attaching to a moved device grain (30 s keep-alive).</summary>
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(90);

    private readonly ITestOutputHelper output;

    private FaultScenario(ProcessCluster cluster, IReadOnlyList<IReadOnlyList<TestDevice>> accounts, IReadOnlyList<FaultDevice> devices, ITestOutputHelper output, bool viaSdk)
    {
        Cluster = cluster;
        Devices = devices;
        this.output = output;
        Traffic = new Traffic(cluster, accounts, viaSdk);
    }

    public ProcessCluster Cluster { get; }

    public IReadOnlyList<FaultDevice> Devices { get; }

    public Traffic Traffic { get; }

    /// <summary>
    /// Registers the accounts (each on another silo), links a companion to each, and connects every device, round robin
    /// over the silos. With <paramref name="viaSdk"/> the senders are the SDK's (<see cref="Traffic"/>).
    /// </summary>
    public static async Task<FaultScenario> StartAsync(ProcessCluster cluster, ITestOutputHelper output, bool viaSdk = false)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var accounts = new List<IReadOnlyList<TestDevice>>();
        for (var a = 0; a < Accounts; a++)
        {
            var primary = await RegisterAsync(http, cluster.Silos[a % cluster.Silos.Count]);
            var companion = await LinkAsync(http, cluster.Silos[(a + 1) % cluster.Silos.Count].BaseAddress, primary);
            accounts.Add([primary, companion]);
        }

        var devices = accounts.SelectMany(a => a)
            .Select((device, i) => new FaultDevice(device, cluster, i % cluster.Silos.Count))
            .ToList();
        var scenario = new FaultScenario(cluster, accounts, devices, output, viaSdk);
        foreach (var device in devices)
        {
            device.Start();
        }

        await Task.WhenAll(devices.Select(d => d.Connected)).WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"{devices.Count} devices of {Accounts} accounts connected; sockets per silo: " +
            string.Join(", ", devices.GroupBy(d => d.CurrentSilo).OrderBy(g => g.Key).Select(g => $"silo {g.Key + 1}: {g.Count()}")));
        return scenario;
    }

    /// <summary>Runs traffic while <paramref name="fault"/> runs (at least <paramref name="minimumSends"/> sends), then checks every envelope.</summary>
    public async Task RunAsync(Func<Task> fault, int minimumSends)
    {
        var faultTask = Task.Run(fault);
        await Traffic.RunAsync(faultTask, minimumSends, TimeSpan.FromMilliseconds(200), concurrency: 4);
        await AccountAsync();
    }

    /// <summary>
    /// Every send that got a 200 reaches each of its devices; after dedup by envelope id, exactly once: a content never
    /// comes with two different ids, and nothing arrives that was never sent.
    /// </summary>
    private async Task AccountAsync()
    {
        var promised = Traffic.PromisedByDevice();
        var drain = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Devices.Select(d => d.WaitForAsync(promised.GetValueOrDefault(d.Device.Login) ?? [], DeliveryTimeout)));
        drain.Stop();

        int delivered = 0, duplicates = 0, promisedTotal = 0;
        var problems = new List<string>();
        foreach (var device in Devices)
        {
            var expected = promised.GetValueOrDefault(device.Device.Login) ?? [];
            promisedTotal += expected.Count;
            var received = device.Received;
            delivered += received.Count;
            duplicates += received.Count - received.Select(r => r.Id).Distinct().Count();
            foreach (var group in received.GroupBy(r => r.Content))
            {
                var ids = group.Select(r => r.Id).Distinct().ToList();
                if (ids.Count > 1)
                {
                    problems.Add($"{device.Device.Login} got '{group.Key}' under {ids.Count} different envelope ids");
                }

                if (!Traffic.AllContents.ContainsKey(group.Key))
                {
                    problems.Add($"{device.Device.Login} got '{group.Key}', which nobody sent");
                }
            }
        }

        var closes = Devices.SelectMany(d => d.Closes)
            .GroupBy(c => c.Key)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {g.Sum(c => c.Value)}")
            .DefaultIfEmpty("none");
        var report = new StringBuilder()
            .AppendLine($"sends: {Traffic.Started} started, {Traffic.Ok} got 200, {Traffic.Failed} failed; {Traffic.Retries} retries ({Traffic.StatusErrors} 5xx of which {Traffic.OtherServerErrors} not 503 unavailable, {Traffic.ConnectionErrors} no answer)")
            .AppendLine($"envelopes: {promisedTotal} promised by 200s, {delivered} frames delivered, {duplicates} duplicates by id (redelivered unacked), all delivered {drain.Elapsed.TotalSeconds:0.0}s after traffic stopped")
            .AppendLine($"sockets: {Devices.Sum(d => d.Connections)} opened for {Devices.Count} devices; closed mid-run: {string.Join(", ", closes)}")
            .AppendLine($"send time to 200 (retries included): {Percentiles(Traffic.SendDurations)}; delivery (first attempt to first arrival): {Percentiles(DeliveryTimes())}");
        output.WriteLine(report.ToString());

        Assert.Empty(Traffic.Unexpected);
        Assert.True(Traffic.OtherServerErrors == 0, $"{Traffic.OtherServerErrors} answers were a 5xx other than 503 unavailable: a fault the silo did not recognise as transient");
        Assert.Empty(problems);
        Assert.Equal(0, Traffic.Failed);
        Assert.Equal(Traffic.Started, Traffic.Ok);
    }

    private List<TimeSpan> DeliveryTimes()
    {
        var starts = Traffic.SendStarts;
        var times = new List<TimeSpan>();
        foreach (var (content, arrived) in Devices.SelectMany(d => d.FirstArrivals))
        {
            // A content is "<text> for <login>".
            var space = content.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && starts.TryGetValue(content[..space], out var started))
            {
                times.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started, arrived));
            }
        }

        return times;
    }

    private static string Percentiles(IReadOnlyCollection<TimeSpan> durations)
    {
        if (durations.Count == 0)
        {
            return "none";
        }

        var sorted = durations.Select(d => d.TotalMilliseconds).Order().ToList();
        double At(double q) => sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
        return $"p50 {At(0.5):0} ms, p99 {At(0.99):0} ms, max {sorted[^1]:0} ms";
    }

    public void Log(string line) => output.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.f}] {line}");

    public async ValueTask DisposeAsync()
    {
        foreach (var device in Devices)
        {
            await device.DisposeAsync();
        }

        Traffic.Dispose();
    }

    /// <summary>Registers a new account through <paramref name="silo"/>; returns its primary device.</summary>
    public static async Task<TestDevice> RegisterAsync(HttpClient http, ProcessSilo silo)
    {
        var (primary, body) = TestAccounts.NewRegistration();
        await ExpectOkAsync(await http.PostAsJsonAsync(new Uri(silo.BaseAddress, "/v1/accounts/verification"), new JsonObject { ["accountId"] = primary.AccountId }), "verification code");
        body["verificationCode"] = TestAccounts.SentCode(primary.AccountId);
        await ExpectOkAsync(await http.PostAsJsonAsync(new Uri(silo.BaseAddress, "/v1/accounts"), body), "registration");
        return primary;
    }

    private static async Task<TestDevice> LinkAsync(HttpClient http, Uri silo, TestDevice primary)
    {
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Post, new Uri(silo, "/v1/devices/link-token"));
        tokenRequest.Headers.Authorization = TestDevice.BasicAuth(primary.Login, primary.Password);
        var token = (string)(await ExpectOkAsync(await http.SendAsync(tokenRequest), "link token"))!["token"]!;
        var (companion, body) = Linking.NewRequest(primary, token, keyIndex: 1);
        var answer = await ExpectOkAsync(await http.PutAsJsonAsync(new Uri(silo, "/v1/devices/link"), body), "link");
        return companion with { DeviceId = (int)answer!["deviceId"]! };
    }

    private static async Task<JsonObject?> ExpectOkAsync(HttpResponseMessage response, string what)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            return response.IsSuccessStatusCode
                ? text.Length > 0 ? JsonNode.Parse(text)?.AsObject() : null
                : throw new InvalidOperationException($"{what} failed: {(int)response.StatusCode} {text}");
        }
    }
}
