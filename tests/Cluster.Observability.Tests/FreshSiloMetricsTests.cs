using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Observability.Tests;

/// <summary>
/// The first scrape of a silo nobody has used: every series the shipped dashboard and alert rules read is there
/// already (at zero), so <c>rate()</c>, <c>increase()</c> and absence alerts work from the first second, not from the
/// first event of each kind. Histograms are the exception: OpenTelemetry exports one from its first observation, so their
/// series (<c>_bucket</c>, <c>_count</c>, <c>_sum</c>) are not looked for here, and a panel of one shows no data until then.
/// </summary>
[Collection(OneSiloAtATime.Name)]
public sealed class FreshSiloMetricsTests
{
    /// <summary>Series Prometheus makes itself for every target (they are never in <c>/metrics</c>).</summary>
    private static readonly HashSet<string> PrometheusSeries =
        ["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"];

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FirstScrape_FreshSilo_HasEverySeriesTheDashboardAndAlertsRead()
    {
        var rules = await File.ReadAllTextAsync(Repository.AlertRules, Cancel);
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Repository.Dashboard, Cancel))!;
        var expressions = PromQl.RuleExpressions(rules).Select(e => (Source: "alerts.yml", Expression: e))
            .Concat(PromQl.DashboardExpressions(dashboard).Select(e => (Source: "cluster.json", Expression: e)));
        var recorded = PromQl.RecordedNames(rules).ToHashSet(StringComparer.Ordinal);
        var wanted = expressions
            .SelectMany(e => PromQl.MetricNames(e.Expression).Select(name => (Name: name, e.Source)))
            .Where(n => !recorded.Contains(n.Name) && !PrometheusSeries.Contains(n.Name) && !IsHistogramSeries(n.Name))
            .GroupBy(n => n.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => string.Join(", ", g.Select(n => n.Source).Distinct()), StringComparer.Ordinal);

        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        using var http = silo.CreateHttpClient();
        var exported = MetricsText.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Cancel))
            .Select(s => s.Name)
            .ToHashSet(StringComparer.Ordinal);

        Assert.True(wanted.Count >= 20, $"only {wanted.Count} series named by the dashboard and alerts: is the PromQL parsing broken?");
        var missing = wanted.Where(w => !exported.Contains(w.Key)).Select(w => $"{w.Key} (read by {w.Value})").Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} series absent from the first scrape of a fresh silo:\n" + string.Join('\n', missing));
    }

    private static bool IsHistogramSeries(string name) =>
        name.EndsWith("_bucket", StringComparison.Ordinal) || name.EndsWith("_count", StringComparison.Ordinal) || name.EndsWith("_sum", StringComparison.Ordinal);
}
