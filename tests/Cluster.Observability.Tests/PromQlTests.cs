namespace Cluster.Observability.Tests;

/// <summary>The metric-name extraction the dashboard and rules checks rely on.</summary>
public sealed class PromQlTests
{
    [Fact]
    public void MetricNames_Expression_LeavesOutFunctionsLabelsKeywordsAndVariables()
    {
        var names = PromQl.MetricNames("""
            histogram_quantile(0.99, sum by (job, le) (rate(cluster_delivery_latency_seconds_bucket{job="cluster-silo",delivery=~"live|x"}[$__rate_interval])))
            / ignoring (kind) group_left sum without (instance) (rate(cluster_prekey_bundles_total[5m] offset 1h)) > bool 1e3
            and on (instance) deriv(sum(cluster_inbox_depth_envelopes{instance=~"$instance"})[30m:1m]) or up == 0
            unless instance:cluster_readiness_unready:bool
            """);

        Assert.Equal(
            ["cluster_delivery_latency_seconds_bucket", "cluster_inbox_depth_envelopes", "cluster_prekey_bundles_total", "instance:cluster_readiness_unready:bool", "up"],
            names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void MetricNames_GrafanaLabelValues_OnlyTheSeries()
    {
        Assert.Equal(["up"], PromQl.MetricNames("""label_values(up{job="cluster-silo"}, instance)"""));
    }

    [Fact]
    public void RuleExpressions_InlineAndBlock_BothRead()
    {
        var rules = """
            groups:
              - name: g
                rules:
                  - record: a:b:c
                    expr: |
                      sum by (job) (
                        x_total
                      )
                  - alert: Y
                    expr: up == 0
                    for: 1m
            """;

        Assert.Equal(["sum by (job) (\n            x_total\n          )", "up == 0"], PromQl.RuleExpressions(rules).Select(e => e.Trim()));
        Assert.Equal(["a:b:c"], PromQl.RecordedNames(rules));
        Assert.Equal(["Y"], PromQl.AlertNames(rules));
    }
}
