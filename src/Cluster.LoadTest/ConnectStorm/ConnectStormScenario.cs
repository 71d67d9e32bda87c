using System.Diagnostics;
using Cluster.Client.Messaging;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Latency;
using Cluster.LoadTest.Reporting;

namespace Cluster.LoadTest.ConnectStorm;

/// <summary>
/// Every device opens its socket at the same moment (<c>--connect-concurrency</c> bounds it only if given smaller);
/// connect latency is measured from that moment to the open socket, retries included. Then the sockets stay idle for
/// <c>--idle</c>, and each target's <c>/metrics</c>, scraped before and after, gives the server's memory per connected
/// idle device. Behind a load balancer each scrape reaches one instance only: the memory figures then say little.
/// </summary>
internal sealed class ConnectStormScenario : IScenario, IDeviceListener
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(120);

    public async Task<ScenarioResult> RunAsync(RunContext run, CancellationToken cancellationToken)
    {
        var options = run.Options;
        var population = await Population.CreateAsync(run, cancellationToken);
        await using (population)
        {
            var devices = population.Devices.ToList();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            run.Status.Phase = "settling";
            var before = await ScrapeAsync(http, run, cancellationToken);

            run.Status.Phase = "connect storm";
            var concurrency = options.ConnectConcurrency ?? Math.Max(1, devices.Count);
            var stormStarted = Stopwatch.GetTimestamp();
            var failed = await population.ConnectAsync(devices, this, concurrency, ConnectTimeout, cancellationToken);
            var stormTime = Stopwatch.GetElapsedTime(stormStarted);

            // Sockets the server dropped during the storm reconnect by themselves: give them a bounded while.
            run.Status.Phase = "settling";
            var settleStarted = Stopwatch.GetTimestamp();
            while (run.Status.Connected < devices.Count && Stopwatch.GetElapsedTime(settleStarted) < SettleTimeout)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }

            var settleTime = Stopwatch.GetElapsedTime(settleStarted);
            run.Status.Phase = "idle";
            await Task.Delay(options.Idle, cancellationToken);
            var connectedAtEnd = (int)run.Status.Connected;
            var after = await ScrapeAsync(http, run, cancellationToken);
            var clientWorkingSet = Environment.WorkingSet;

            var setup = SetupResult.Of(population, 0, TimeSpan.Zero);
            return new ScenarioResult
            {
                Setup = setup,
                Connections = ConnectionTally.Of(devices.Count, devices.Count - failed, failed, stormTime, before, after, clientWorkingSet, connectedAtEnd) with
                {
                    SettleSeconds = Math.Round(settleTime.TotalSeconds, 3),
                },
                GatedOperations = [Operations.Connect],
            };
        }
    }

    public void OnEnvelope(SimDevice device, Envelope envelope, long timestamp)
    {
    }

    public void OnEvent(SimDevice device, DeviceEvent deviceEvent, long timestamp)
    {
    }

    private static async Task<IReadOnlyList<ServerSample>> ScrapeAsync(HttpClient http, RunContext run, CancellationToken cancellationToken)
    {
        var samples = await Task.WhenAll(run.Options.Targets.Select(target => ServerSample.ScrapeAsync(http, target, cancellationToken)));
        return [.. samples.OfType<ServerSample>()];
    }
}

/// <summary>What the connect storm measured.</summary>
internal sealed record ConnectionTally
{
    public int Devices { get; init; }

    /// <summary>Devices whose socket opened (retries included) within the connect timeout.</summary>
    public int Connected { get; init; }

    /// <summary>Sockets open when the memory was measured, after the idle time.</summary>
    public int ConnectedAtEnd { get; init; }

    /// <summary>After the storm, how long until every socket the server had dropped was open again.</summary>
    public double SettleSeconds { get; init; }

    public int Failed { get; init; }

    /// <summary>From the first connect to the last socket open (or given up).</summary>
    public double StormSeconds { get; init; }

    public IReadOnlyList<ServerSample> ServerBefore { get; init; } = [];

    public IReadOnlyList<ServerSample> ServerAfter { get; init; } = [];

    /// <summary>Growth of the targets' working sets, summed, per device connected at the end.</summary>
    public double? WorkingSetPerDeviceKiB { get; init; }

    /// <summary>Growth of the targets' GC heaps after their last collection, summed, per connected device.</summary>
    public double? GcHeapPerDeviceKiB { get; init; }

    /// <summary>This process's working set with every socket open, per device.</summary>
    public double ClientWorkingSetPerDeviceKiB { get; init; }

    public static ConnectionTally Of(
        int devices, int connected, int failed, TimeSpan storm, IReadOnlyList<ServerSample> before, IReadOnlyList<ServerSample> after, long clientWorkingSet, int connectedAtEnd)
    {
        var comparable = before.Count > 0 && before.Count == after.Count && connectedAtEnd > 0;
        return new ConnectionTally
        {
            Devices = devices,
            Connected = connected,
            ConnectedAtEnd = connectedAtEnd,
            Failed = failed,
            StormSeconds = Math.Round(storm.TotalSeconds, 3),
            ServerBefore = before,
            ServerAfter = after,
            WorkingSetPerDeviceKiB = comparable ? Math.Round((after.Sum(s => s.WorkingSetBytes) - before.Sum(s => s.WorkingSetBytes)) / connectedAtEnd / 1024, 1) : null,
            GcHeapPerDeviceKiB = comparable ? Math.Round((after.Sum(s => s.GcHeapBytes) - before.Sum(s => s.GcHeapBytes)) / connectedAtEnd / 1024, 1) : null,
            ClientWorkingSetPerDeviceKiB = devices > 0 ? Math.Round(clientWorkingSet / 1024.0 / devices, 1) : 0,
        };
    }
}
