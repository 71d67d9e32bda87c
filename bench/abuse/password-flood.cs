#:project ../../src/Cluster.Client/Cluster.Client.csproj

// A legitimate device's GET /v1/devices latency, idle and while N connections flood wrong passwords for its own
// address, side by side in one run (docs/benchmarks.md, issue 15). Run through password-flood.sh, which starts the
// silo; or: dotnet run bench/abuse/password-flood.cs -- <target> [connections] [seconds per phase].
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Cluster.Client;
using Cluster.Client.Keys;

var target = new Uri(args.Length > 0 ? args[0] : "http://127.0.0.1:8080");
var connections = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 64;
var phase = TimeSpan.FromSeconds(args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 20);

var keys = DeviceKeys.Generate();
var password = DeviceKeys.NewPassword();
var accountId = "+1" + Random.Shared.NextInt64(2_000_000_000, 9_999_999_999).ToString(CultureInfo.InvariantCulture);
using (var anonymous = new ClusterClient(target))
{
    await anonymous.RegisterAsync(keys.CreateRegistration(accountId, password, "victim"));
}

var login = $"{accountId}.1";
using var legitimate = Client(target, login, password, 1);
await Measure.OnceAsync(legitimate);

var idle = await Measure.LatencyAsync(legitimate, phase);

using var stop = new CancellationTokenSource();
var answers = new Answers();
var flood = Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
{
    using var attacker = Client(target, login, DeviceKeys.NewPassword(), 1);
    while (!stop.IsCancellationRequested)
    {
        try
        {
            using var response = await attacker.GetAsync("/v1/devices", HttpCompletionOption.ResponseHeadersRead, stop.Token);
            answers.Add(response.StatusCode);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The end of the flood phase.
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            answers.Add(null);
        }
    }
})).ToList();
var flooded = await Measure.LatencyAsync(legitimate, phase);
await stop.CancelAsync();
await Task.WhenAll(flood);

Console.WriteLine($"legitimate device {login}, GET /v1/devices, {phase.TotalSeconds:0} s per phase, {connections} flooding connections");
Console.WriteLine("phase     requests   p50 ms   p99 ms   max ms");
Console.WriteLine(idle.Row("idle"));
Console.WriteLine(flooded.Row("flood"));
Console.WriteLine($"p99 under flood / idle: {flooded.P(0.99) / idle.P(0.99):0.00}x (aim: under 2x)");
Console.WriteLine($"flood answers ({answers.Total / phase.TotalSeconds:0}/s): {answers}");

static HttpClient Client(Uri target, string login, string password, int connections)
{
    var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = target, Timeout = TimeSpan.FromSeconds(30) };
    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{login}:{password}")));
    return client;
}

internal static class Measure
{
    public static async Task OnceAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/v1/devices");
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Sequential requests for <paramref name="duration"/>; every answer other than 200 is counted apart.</summary>
    public static async Task<Latencies> LatencyAsync(HttpClient client, TimeSpan duration)
    {
        var result = new Latencies();
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync("/v1/devices");
            await response.Content.ReadAsByteArrayAsync();
            result.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds, response.StatusCode == HttpStatusCode.OK);
        }

        return result;
    }
}

internal sealed class Latencies
{
    private readonly List<double> milliseconds = [];
    private int failed;

    public void Add(double ms, bool ok)
    {
        milliseconds.Add(ms);
        failed += ok ? 0 : 1;
    }

    public double P(double quantile)
    {
        var sorted = milliseconds.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];
    }

    public string Row(string name) => string.Create(
        CultureInfo.InvariantCulture,
        $"{name,-8} {milliseconds.Count,9} {P(0.5),8:0.0} {P(0.99),8:0.0} {milliseconds.DefaultIfEmpty(double.NaN).Max(),8:0.0}{(failed > 0 ? $"   ({failed} not 200)" : "")}");
}

internal sealed class Answers
{
    private readonly Dictionary<string, int> counts = [];
    private readonly Lock sync = new();

    public int Total { get; private set; }

    public void Add(HttpStatusCode? status)
    {
        lock (sync)
        {
            var key = status is { } s ? ((int)s).ToString(CultureInfo.InvariantCulture) : "error";
            counts[key] = counts.GetValueOrDefault(key) + 1;
            Total++;
        }
    }

    public override string ToString()
    {
        lock (sync)
        {
            return string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}"));
        }
    }
}
