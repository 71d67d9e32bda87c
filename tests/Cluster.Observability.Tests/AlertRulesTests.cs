using System.Text.RegularExpressions;

namespace Cluster.Observability.Tests;

/// <summary>deploy/prometheus/ through promtool: the config and rules are valid, and the rules' unit tests pass.</summary>
public sealed partial class AlertRulesTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PromtoolCheckConfig_ShippedConfig_Valid()
    {
        var result = await PrometheusTools.PromtoolAsync(["check", "config", Repository.PrometheusConfig]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromtoolCheckRules_ShippedRules_Valid()
    {
        var result = await PrometheusTools.PromtoolAsync(["check", "rules", Repository.AlertRules]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromtoolTestRules_UnitTests_Pass()
    {
        var result = await PrometheusTools.PromtoolAsync(["test", "rules", .. Repository.RuleTests]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAILED", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnitTests_EveryAlert_HasFiringAndQuietCases()
    {
        var alerts = PromQl.AlertNames(await File.ReadAllTextAsync(Repository.AlertRules, Cancel));
        var tests = string.Join('\n', await Task.WhenAll(Repository.RuleTests.Select(f => File.ReadAllTextAsync(f, Cancel))));
        var cases = AlertCase().Matches(tests).Select(m => (Alert: m.Groups["alert"].Value, Quiet: m.Groups["quiet"].Success)).ToList();

        Assert.NotEmpty(alerts);
        Assert.All(alerts, alert =>
        {
            Assert.True(cases.Any(c => c.Alert == alert && !c.Quiet), $"no unit test where {alert} fires");
            Assert.True(cases.Any(c => c.Alert == alert && c.Quiet), $"no unit test where {alert} stays quiet");
        });
        Assert.Empty(cases.Select(c => c.Alert).Distinct().Except(alerts));
    }

    /// <summary>An <c>alert_rule_test</c> case: its alert name and whether it expects no alert (<c>exp_alerts: []</c>).</summary>
    [GeneratedRegex(@"alertname:\s*(?<alert>\S+)\s*\n\s*exp_alerts:(?<quiet>\s*\[\])?")]
    private static partial Regex AlertCase();
}
