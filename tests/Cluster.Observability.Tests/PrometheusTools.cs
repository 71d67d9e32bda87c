using System.Diagnostics;
using Cluster.Testing;

namespace Cluster.Observability.Tests;

/// <summary>
/// Debian's <c>prometheus</c> package: the <c>prometheus</c> server and <c>promtool</c>, found on PATH. Tests that need
/// them report themselves skipped, with the reason, when they are absent (<c>.ci/run</c> installs the package).
/// </summary>
internal static class PrometheusTools
{
    public static string? Prometheus { get; } = ExternalTool.Find("prometheus");

    public static string? Promtool { get; } = ExternalTool.Find("promtool");

    /// <summary>The promtool binary, or the test is skipped.</summary>
    public static string RequirePromtool() => Promtool ?? throw SkipFor("promtool");

    /// <summary>The prometheus binary, or the test is skipped.</summary>
    public static string RequirePrometheus() => Prometheus ?? throw SkipFor("prometheus");

    /// <summary>Runs promtool with <paramref name="arguments"/> (and <paramref name="stdin"/> as its input) in <paramref name="workingDirectory"/>.</summary>
    public static Task<ToolResult> PromtoolAsync(IEnumerable<string> arguments, string? stdin = null, string? workingDirectory = null) =>
        ExternalTool.RunAsync(RequirePromtool(), arguments, workingDirectory, stdin);

    private static UnreachableException SkipFor(string binary)
    {
        Assert.Skip($"Debian's prometheus package is not installed (apt-get install prometheus): no {binary} on PATH");
        return new UnreachableException();
    }
}
