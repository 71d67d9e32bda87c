using System.Globalization;
using Cluster.Testing;

namespace Cluster.Observability.Tests;

/// <summary>The sum of every sample of <see cref="Name"/> whose labels include <see cref="Labels"/>.</summary>
internal sealed class Series(string name, params (string Name, string Value)[] labels)
{
    public string Name { get; } = name;

    public IReadOnlyList<(string Name, string Value)> Labels { get; } = labels;

    public double SumOf(IEnumerable<Sample> samples) => samples
        .Where(s => s.Name == Name && Labels.All(l => s.Labels.TryGetValue(l.Name, out var value) && value == l.Value))
        .Sum(s => s.Value);

    /// <summary>The same sum as PromQL over the scrape job; <c>sum</c> of nothing is no sample, read as 0.</summary>
    public string PromQl(string job) =>
        $"sum({Name}{{job=\"{job}\"{string.Concat(Labels.Select(l => $",{l.Name}=\"{l.Value}\""))}}})";

    public override string ToString() =>
        Labels.Count == 0 ? Name : $"{Name}{{{string.Join(',', Labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}}";
}

/// <summary>
/// Checks, at each step of a scripted exchange, that every series moved by exactly what the steps so far expected
/// (0 unless a step named it): first in the silo's own <c>/metrics</c>, then, when a Prometheus server runs, in what
/// Prometheus scraped, through its HTTP API. Mismatches are collected, not thrown, so that each side is asserted by its
/// own test.
/// </summary>
internal sealed class MetricsWatch(TestSilo silo, PrometheusServer? prometheus) : IDisposable
{
    /// <summary>
    /// How long the silo may take to count work that finishes after the client got its answer (acks, socket closes, the
    /// expiry sweep, request metrics recorded after the response).
    /// </summary>
    private static readonly TimeSpan SiloDeadline = TimeSpan.FromSeconds(10);

    /// <summary>Scrapes are every second: a value the silo shows must reach Prometheus well within this.</summary>
    private static readonly TimeSpan PrometheusDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Between two looks at a value that has no event to await.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Prometheus's own series: 1 for each target its last scrape reached.</summary>
    private static readonly Series Up = new("up");

    private readonly HttpClient http = silo.CreateHttpClient();
    private readonly List<Series> series = [];
    private readonly Dictionary<Series, double> siloBaseline = [];
    private readonly Dictionary<Series, double> prometheusBaseline = [];
    private readonly Dictionary<Series, double> expected = [];
    private readonly HashSet<Series> atLeast = [];

    /// <summary>The first checkpoint at which the silo's values were wrong (empty when none was).</summary>
    public List<string> SiloMismatches { get; } = [];

    /// <summary>The first checkpoint at which Prometheus's values were wrong (empty when none was).</summary>
    public List<string> PrometheusMismatches { get; } = [];

    /// <summary>How many checkpoints compared values (on the silo; on Prometheus too when it runs).</summary>
    public int Checkpoints { get; private set; }

    public async Task<string> ScrapeAsync(CancellationToken cancellationToken) =>
        await http.GetStringAsync("/metrics", cancellationToken);

    /// <summary>The values every later expectation is measured from, on the silo and in Prometheus.</summary>
    public async Task BaselineAsync(IEnumerable<Series> all, CancellationToken cancellationToken)
    {
        series.AddRange(all);
        var samples = MetricsText.Parse(await ScrapeAsync(cancellationToken));
        foreach (var s in series)
        {
            siloBaseline[s] = s.SumOf(samples);
        }

        if (prometheus is null)
        {
            return;
        }

        // Prometheus must have scraped this silo once before its values can serve as a baseline.
        var scraped = await WaitAsync(
            "Prometheus's first scrape of the silo",
            [Up],
            new Dictionary<Series, double>(),
            new Dictionary<Series, double> { [Up] = 1 },
            [],
            PrometheusDeadline,
            () => ReadPrometheusAsync([Up], cancellationToken),
            cancellationToken);
        if (scraped is not null)
        {
            throw new TimeoutException($"{scraped}\nPrometheus log:\n{prometheus.RecentLog}");
        }

        var values = await ReadPrometheusAsync(series, cancellationToken);
        for (var i = 0; i < series.Count; i++)
        {
            prometheusBaseline[series[i]] = values[i];
        }
    }

    /// <summary>Adds <paramref name="amount"/> to what <paramref name="s"/> must have moved by since the baseline.</summary>
    public void Expect(Series s, double amount) => expected[s] = expected.GetValueOrDefault(s) + amount;

    /// <summary>Like <see cref="Expect"/>, for a series whose exact movement the script cannot know; it must move at least this much.</summary>
    public void ExpectAtLeast(Series s, double amount)
    {
        atLeast.Add(s);
        Expect(s, amount);
    }

    /// <summary>Waits until every series holds its expected total on the silo, then in Prometheus; records what never did.</summary>
    public async Task CheckpointAsync(string step, CancellationToken cancellationToken)
    {
        // After a side's first mismatch its later values mean little (a step that failed may still be running), so
        // only the first is reported.
        Checkpoints++;
        if (SiloMismatches.Count == 0)
        {
            var failure = await WaitAsync(step, series, siloBaseline, expected, atLeast, SiloDeadline, async () =>
            {
                var samples = MetricsText.Parse(await ScrapeAsync(cancellationToken));
                return series.Select(s => s.SumOf(samples)).ToList();
            }, cancellationToken);
            if (failure is not null)
            {
                SiloMismatches.Add(failure);
            }
        }

        if (prometheus is not null && PrometheusMismatches.Count == 0)
        {
            var failure = await WaitAsync(step, series, prometheusBaseline, expected, atLeast, PrometheusDeadline, () => ReadPrometheusAsync(series, cancellationToken), cancellationToken);
            if (failure is not null)
            {
                PrometheusMismatches.Add(failure);
            }
        }
    }

    public void Dispose() => http.Dispose();

    private async Task<List<double>> ReadPrometheusAsync(List<Series> which, CancellationToken cancellationToken)
    {
        var values = new List<double>(which.Count);
        foreach (var s in which)
        {
            values.Add(await prometheus!.QueryScalarAsync(s.PromQl(PrometheusServer.Job), cancellationToken) ?? 0);
        }

        return values;
    }

    private static async Task<string?> WaitAsync(
        string step,
        List<Series> which,
        Dictionary<Series, double> baseline,
        Dictionary<Series, double> expected,
        HashSet<Series> atLeast,
        TimeSpan deadline,
        Func<Task<List<double>>> read,
        CancellationToken cancellationToken)
    {
        // No event says "the value is counted" (or "Prometheus has scraped it"): look again until it is, or until the
        // deadline.
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            var values = await read();
            var wrong = new List<string>();
            for (var i = 0; i < which.Count; i++)
            {
                var s = which[i];
                var moved = values[i] - baseline.GetValueOrDefault(s);
                var want = expected.GetValueOrDefault(s);
                var holds = atLeast.Contains(s) ? moved >= want - 1e-9 : Math.Abs(moved - want) < 1e-9;
                if (!holds)
                {
                    wrong.Add($"{s} moved by {Format(moved)}, expected {(atLeast.Contains(s) ? "at least " : "")}{Format(want)}");
                }
            }

            if (wrong.Count == 0)
            {
                return null;
            }

            if (DateTime.UtcNow >= until)
            {
                return $"after '{step}' (waited {deadline.TotalSeconds:0} s):\n  {string.Join("\n  ", wrong)}";
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    private static string Format(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
