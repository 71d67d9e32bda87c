using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Observability.Tests;

/// <summary>
/// One silo on a clock the script moves, a real Prometheus server scraping it every second (when Debian's prometheus
/// package is installed), and the <see cref="Exchange"/> run once against both; the tests then assert on what each side
/// saw. This project starts no other silo, so the product meter (process-wide) counts this exchange only; the script
/// measures from a baseline anyway.
/// </summary>
public sealed class ObservedExchange : IAsyncLifetime
{
    private TestSilo? silo;
    private PrometheusServer? prometheus;
    private MetricsWatch? watch;

    internal TestSilo Silo => silo ?? throw new InvalidOperationException("the fixture has not started");

    /// <summary>The Prometheus server, or null when its binary is absent.</summary>
    internal PrometheusServer? Prometheus => prometheus;

    internal MetricsWatch Watch => watch ?? throw new InvalidOperationException("the fixture has not started");

    internal ExchangeRecord Record { get; private set; } = new([]);

    /// <summary>The silo's <c>/metrics</c> after the exchange.</summary>
    internal string Scrape { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var cancel = TestContext.Current.CancellationToken;
        try
        {
            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time, Settings = Exchange.SiloSettings }, cancel);
            if (PrometheusTools.Prometheus is { } binary)
            {
                prometheus = await PrometheusServer.StartAsync(binary, [silo.BaseAddress.Authority], cancel);
            }

            watch = new MetricsWatch(silo, prometheus);
            Record = await Exchange.RunAsync(silo, time, watch, cancel);
            Scrape = await watch.ScrapeAsync(cancel);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        watch?.Dispose();
        watch = null;
        if (prometheus is not null)
        {
            await prometheus.DisposeAsync();
            prometheus = null;
        }

        if (silo is not null)
        {
            await silo.DisposeAsync();
            silo = null;
        }
    }
}
