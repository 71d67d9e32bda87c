using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cluster.Observability.Tests;

/// <summary>The metric names a PromQL expression reads, and where the shipped rules and dashboard keep their expressions.</summary>
internal static partial class PromQl
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
        "inf", "nan", "Inf", "NaN",
    };

    /// <summary>
    /// Identifiers that are neither functions (followed by <c>(</c>), keywords, label names (inside <c>{}</c> or a
    /// grouping clause), strings, durations nor Grafana variables.
    /// </summary>
    public static IReadOnlySet<string> MetricNames(string expression)
    {
        var text = LabelValues().Replace(expression, "$1");
        text = Strings().Replace(text, " ");
        text = GrafanaVariables().Replace(text, " ");
        text = Matchers().Replace(text, " ");
        text = Ranges().Replace(text, " ");
        text = Grouping().Replace(text, " ");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in Identifier().Matches(text))
        {
            var rest = text.AsSpan(match.Index + match.Length).TrimStart();
            if (!Keywords.Contains(match.Value) && (rest.IsEmpty || rest[0] != '('))
            {
                names.Add(match.Value);
            }
        }

        return names;
    }

    /// <summary>The <c>expr</c> of every rule in a Prometheus rule file (inline or a <c>|</c> block).</summary>
    public static IReadOnlyList<string> RuleExpressions(string ruleFile)
    {
        var lines = ruleFile.Split('\n');
        var expressions = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var match = ExprKey().Match(lines[i]);
            if (!match.Success)
            {
                continue;
            }

            var value = match.Groups["value"].Value.Trim();
            if (value is "|" or "|-" or ">" or ">-")
            {
                var keyIndent = match.Groups["indent"].Value.Length;
                var block = new List<string>();
                while (i + 1 < lines.Length && (lines[i + 1].Trim().Length == 0 || Indent(lines[i + 1]) > keyIndent))
                {
                    block.Add(lines[++i]);
                }

                expressions.Add(string.Join('\n', block));
            }
            else
            {
                expressions.Add(value.Trim('"', '\''));
            }
        }

        return expressions;
    }

    /// <summary>The names recording rules define.</summary>
    public static IReadOnlyList<string> RecordedNames(string ruleFile) =>
        RecordKey().Matches(ruleFile).Select(m => m.Groups["name"].Value).ToList();

    /// <summary>The alerts a rule file defines.</summary>
    public static IReadOnlyList<string> AlertNames(string ruleFile) =>
        AlertKey().Matches(ruleFile).Select(m => m.Groups["name"].Value).ToList();

    /// <summary>Every query of a Grafana dashboard: panel targets' <c>expr</c> and query variables' <c>definition</c>.</summary>
    public static IReadOnlyList<string> DashboardExpressions(JsonNode dashboard)
    {
        var expressions = new List<string>();
        Walk(dashboard);
        return expressions;

        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject obj:
                    foreach (var (key, value) in obj)
                    {
                        if (key is "expr" or "definition" && value is JsonValue v && v.TryGetValue<string>(out var text) && text.Length > 0)
                        {
                            expressions.Add(text);
                        }
                        else
                        {
                            Walk(value);
                        }
                    }

                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        Walk(item);
                    }

                    break;
            }
        }
    }

    private static int Indent(string line) => line.Length - line.TrimStart(' ').Length;

    [GeneratedRegex(@"label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""|'(?:[^'\\]|\\.)*'|`[^`]*`")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*")]
    private static partial Regex GrafanaVariables();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![a-zA-Z0-9_:.])[a-zA-Z_:][a-zA-Z0-9_:]*(?![a-zA-Z0-9_:])")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^(?<indent>\s*)(?:-\s+)?expr:(?<value>.*)$")]
    private static partial Regex ExprKey();

    [GeneratedRegex(@"^\s*(?:-\s+)?record:\s*(?<name>\S+)", RegexOptions.Multiline)]
    private static partial Regex RecordKey();

    [GeneratedRegex(@"^\s*(?:-\s+)?alert:\s*(?<name>\S+)", RegexOptions.Multiline)]
    private static partial Regex AlertKey();
}
