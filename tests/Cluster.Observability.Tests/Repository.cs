using Cluster.Testing;

namespace Cluster.Observability.Tests;

/// <summary>Files of this repository the tests check: the Prometheus configuration, rules and the Grafana dashboard.</summary>
internal static class Repository
{
    public static string Root => ExternalTool.RepositoryRoot;

    public static string PrometheusDirectory => Path.Combine(Root, "deploy", "prometheus");

    public static string PrometheusConfig => Path.Combine(PrometheusDirectory, "prometheus.yml");

    public static string AlertRules => Path.Combine(PrometheusDirectory, "alerts.yml");

    public static IReadOnlyList<string> RuleTests => Directory.GetFiles(Path.Combine(PrometheusDirectory, "tests"), "*.yml").Order(StringComparer.Ordinal).ToList();

    public static string Dashboard => Path.Combine(Root, "deploy", "grafana", "cluster.json");
}
