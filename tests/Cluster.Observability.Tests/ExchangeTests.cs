using System.Text.Json.Nodes;

namespace Cluster.Observability.Tests;

/// <summary>What the silo exports, and what Prometheus scraped of it, after a scripted exchange of messages, a link and a call.</summary>
[Collection(OneSiloAtATime.Name)]
public sealed class ExchangeTests(ObservedExchange fixture) : IClassFixture<ObservedExchange>
{
    /// <summary>Series Prometheus makes itself for every target (they are never in <c>/metrics</c>).</summary>
    private static readonly HashSet<string> PrometheusSeries =
        ["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"];

    /// <summary>The labels product series may carry: each takes a handful of values, never an id.</summary>
    private static readonly HashSet<string> ProductLabels = ["otel_scope_name", "le", "kind", "outcome", "reason", "answered", "delivery", "store"];

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void Exchange_SiloMetrics_MoveByExpectedAmounts()
    {
        Assert.True(fixture.Watch.Checkpoints >= 10, $"only {fixture.Watch.Checkpoints} checkpoints ran");
        Assert.True(fixture.Watch.SiloMismatches.Count == 0, string.Join('\n', fixture.Watch.SiloMismatches));
    }

    [Fact]
    public async Task Exchange_Prometheus_ScrapedExpectedAmounts()
    {
        PrometheusTools.RequirePrometheus();
        Assert.NotNull(fixture.Prometheus);
        Assert.True(fixture.Watch.PrometheusMismatches.Count == 0, string.Join('\n', fixture.Watch.PrometheusMismatches) + "\nPrometheus log:\n" + fixture.Prometheus.RecentLog);
        // The silo is the one target, and Prometheus reached it (one slow scrape on a busy machine may have failed since).
        var target = $"job=\"{PrometheusServer.Job}\",instance=\"{fixture.Silo.BaseAddress.Authority}\"";
        Assert.Equal(1, await fixture.Prometheus.QueryScalarAsync($"count(up{{job=\"{PrometheusServer.Job}\"}})", Cancel));
        Assert.Equal(1, await fixture.Prometheus.QueryScalarAsync($"max_over_time(up{{{target}}}[10m])", Cancel));
    }

    [Fact]
    public async Task AlertRules_LoadedIntoPrometheus_EvaluateWithoutErrors()
    {
        PrometheusTools.RequirePrometheus();
        var prometheus = fixture.Prometheus!;
        var alerts = PromQl.AlertNames(await File.ReadAllTextAsync(Repository.AlertRules, Cancel));

        // Rules are evaluated every second, with no event to await: ask until each has been evaluated once.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        List<JsonObject> rules;
        while (true)
        {
            var body = await prometheus.GetApiAsync("/api/v1/rules", Cancel);
            rules = body["data"]!["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()).Select(r => r!.AsObject()).ToList();
            if (rules.All(r => (string?)r["health"] != "unknown") || DateTime.UtcNow >= until)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), Cancel);
        }

        Assert.Equal(alerts.Order(), rules.Where(r => (string?)r["type"] == "alerting").Select(r => (string)r["name"]!).Order());
        Assert.All(rules, r => Assert.True((string?)r["health"] == "ok", $"rule {r["name"]}: health {r["health"]}, {r["lastError"]}"));
    }

    [Fact]
    public async Task Metrics_PromtoolCheckMetrics_ReportsNothing()
    {
        // Every meter must be in the text, or the check proves nothing about it.
        Assert.All(
            ["cluster_envelopes_stored_total", "orleans_app_requests_latency_seconds_bucket", "orleans_catalog_activations", "dotnet_assemblies_loaded", "http_server_request_duration_seconds_bucket"],
            series => Assert.Contains(series, fixture.Scrape, StringComparison.Ordinal));

        var result = await PrometheusTools.PromtoolAsync(["check", "metrics"], stdin: fixture.Scrape);

        Assert.True(result is { ExitCode: 0, Stdout: "", Stderr: "" }, $"promtool check metrics: {result}");
    }

    [Fact]
    public void Metrics_ProductLabels_CarryNoIdentifiers()
    {
        var samples = MetricsText.Parse(fixture.Scrape);
        var product = samples.Where(s => s.Name.StartsWith("cluster_", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(product);
        var unexpected = product.SelectMany(s => s.Labels.Keys).Distinct().Where(l => !ProductLabels.Contains(l)).ToList();
        Assert.True(unexpected.Count == 0, $"labels on product series beyond the low-cardinality set: {string.Join(", ", unexpected)}");
        foreach (var label in ProductLabels.Except(["le"]))
        {
            var values = product.Where(s => s.Labels.ContainsKey(label)).Select(s => s.Labels[label]).Distinct().ToList();
            Assert.True(values.Count <= 10, $"label {label} has {values.Count} values: {string.Join(", ", values)}");
        }

        Assert.NotEmpty(fixture.Record.Identifiers);
        Assert.All(fixture.Record.Identifiers, id => Assert.DoesNotContain(id, fixture.Scrape, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dashboard_EverySeries_ExistsInMetrics()
    {
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Repository.Dashboard, Cancel))!;
        var expressions = PromQl.DashboardExpressions(dashboard);

        Assert.True(expressions.Count >= 20, $"only {expressions.Count} queries in the dashboard");
        AssertEverySeriesExported(expressions, PromQl.RecordedNames(await File.ReadAllTextAsync(Repository.AlertRules, Cancel)));
    }

    [Fact]
    public async Task Dashboard_Queries_EvaluateToDataInPrometheus()
    {
        PrometheusTools.RequirePrometheus();
        var prometheus = fixture.Prometheus!;
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Repository.Dashboard, Cancel))!;
        var recorded = PromQl.RecordedNames(await File.ReadAllTextAsync(Repository.AlertRules, Cancel));
        var queries = PromQl.DashboardExpressions(dashboard)
            .Where(e => !e.StartsWith("label_values(", StringComparison.Ordinal))
            .Select(e => e.Replace("$__rate_interval", "1m", StringComparison.Ordinal).Replace("$instance", ".*", StringComparison.Ordinal))
            .ToList();

        // A series that appeared late in the exchange needs a second scrape before rate() has two samples: with no
        // event for that, ask again until every panel has data, within the deadline.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        List<string> empty;
        while (true)
        {
            empty = [];
            foreach (var query in queries)
            {
                // Prometheus answers an invalid query with an error status, which fails here at once.
                var result = await prometheus.QueryAsync(query, Cancel);
                if (result.Count == 0 && !PromQl.MetricNames(query).Any(recorded.Contains))
                {
                    empty.Add(query);
                }
            }

            if (empty.Count == 0 || DateTime.UtcNow >= until)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), Cancel);
        }

        Assert.True(empty.Count == 0, "dashboard queries without data after the exchange:\n" + string.Join('\n', empty));
    }

    [Fact]
    public async Task AlertRules_EverySeries_ExistsInMetrics()
    {
        var rules = await File.ReadAllTextAsync(Repository.AlertRules, Cancel);
        var expressions = PromQl.RuleExpressions(rules);

        Assert.Equal(PromQl.AlertNames(rules).Count + PromQl.RecordedNames(rules).Count, expressions.Count);
        AssertEverySeriesExported(expressions, PromQl.RecordedNames(rules));
    }

    private void AssertEverySeriesExported(IEnumerable<string> expressions, IEnumerable<string> recorded)
    {
        var exported = MetricsText.Parse(fixture.Scrape).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var known = exported.Concat(PrometheusSeries).Concat(recorded).ToHashSet(StringComparer.Ordinal);
        var named = expressions.SelectMany(e => PromQl.MetricNames(e).Select(name => (Name: name, Expression: e))).ToList();

        Assert.NotEmpty(named);
        var missing = named.Where(n => !known.Contains(n.Name)).Select(n => $"{n.Name} (in: {n.Expression.Trim()})").Distinct().ToList();
        Assert.True(missing.Count == 0, "series not in /metrics after the exchange:\n" + string.Join('\n', missing));
    }
}
