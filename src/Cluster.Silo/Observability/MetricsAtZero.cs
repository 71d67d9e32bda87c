using Cluster.Grains.Observability;
using OpenTelemetry.Metrics;

namespace Cluster.Silo.Observability;

/// <summary>
/// At start, once this silo's metrics exporter listens, exports the product's counters at zero
/// (<see cref="ClusterMetrics.StartAtZero"/>), so the first scrape has every series the dashboard and alerts read.
/// Owns nothing.
/// </summary>
internal sealed class MetricsAtZero(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving the provider makes its listener subscribe to the meters; a zero added before that is lost.
        _ = services.GetService<MeterProvider>();
        ClusterMetrics.StartAtZero();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
