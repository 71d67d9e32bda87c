using Cluster.LoadTest.CommandLine;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Latency;
using Cluster.LoadTest.Progress;

namespace Cluster.LoadTest;

/// <summary>What every part of a run shares: its options, the connection pools, the histograms and the counters.</summary>
internal sealed class RunContext(LoadTestOptions options, Gateways gateways) : IDisposable
{
    public LoadTestOptions Options { get; } = options;

    public Gateways Gateways { get; } = gateways;

    public LatencyRecorder Latencies { get; } = new();

    public RunStatus Status { get; } = new();

    /// <summary>A random source derived from the run's seed, so that a run's picks repeat with the same <c>--seed</c>.</summary>
    public Random NewRandom(long salt) => new(HashCode.Combine(Options.Seed, salt));

    public void Dispose() => Gateways.Dispose();
}
