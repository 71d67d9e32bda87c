using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Silo.OpenApi;
using Cluster.Testing;

namespace Cluster.OpenApi.Tests;

/// <summary>The served document, the committed copy (<c>docs/openapi.json</c>) and where they differ.</summary>
internal static class OpenApiDocument
{
    /// <summary>Set to 1 to make the drift test write the served document to <see cref="CommittedPath"/> instead of failing.</summary>
    public const string UpdateVariable = "UPDATE_OPENAPI";

    public const string RegenerateCommand =
        "UPDATE_OPENAPI=1 dotnet test tests/Cluster.OpenApi.Tests -c Release --filter \"FullyQualifiedName~ServedDocument_ComparedWithDocsCopy\"";

    public static string CommittedPath => Path.Combine(ExternalTool.RepositoryRoot, "docs", "openapi.json");

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<JsonNode> FetchAsync(TestSilo silo, CancellationToken cancellationToken)
    {
        using var http = silo.CreateHttpClient();
        return JsonNode.Parse(await http.GetStringAsync(new Uri(OpenApiExtensions.DocumentPath, UriKind.Relative), cancellationToken))!;
    }

    /// <summary>The text the committed copy holds: the document indented, with a final newline.</summary>
    public static string Text(JsonNode document) => document.ToJsonString(Indented).ReplaceLineEndings("\n") + "\n";

    /// <summary>The JSON paths where <paramref name="expected"/> and <paramref name="actual"/> differ, at most <paramref name="limit"/>.</summary>
    public static List<string> Differences(JsonNode? expected, JsonNode? actual, string path = "$", int limit = 20)
    {
        var found = new List<string>();
        Diff(expected, actual, path, found, limit);
        return found;
    }

    private static void Diff(JsonNode? expected, JsonNode? actual, string path, List<string> found, int limit)
    {
        if (found.Count >= limit || JsonNode.DeepEquals(expected, actual))
        {
            return;
        }

        if (expected is JsonObject a && actual is JsonObject b)
        {
            foreach (var key in a.Select(p => p.Key).Union(b.Select(p => p.Key)))
            {
                if (!a.ContainsKey(key))
                {
                    found.Add($"{path}.{key}: served, not in the committed copy");
                }
                else if (!b.ContainsKey(key))
                {
                    found.Add($"{path}.{key}: in the committed copy, no longer served");
                }
                else
                {
                    Diff(a[key], b[key], $"{path}.{key}", found, limit);
                }
            }

            return;
        }

        if (expected is JsonArray x && actual is JsonArray y && x.Count == y.Count)
        {
            for (var i = 0; i < x.Count; i++)
            {
                Diff(x[i], y[i], $"{path}[{i}]", found, limit);
            }

            return;
        }

        found.Add($"{path}: committed {Short(expected)}, served {Short(actual)}");
    }

    private static string Short(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "(absent)";
        return text.Length > 120 ? text[..120] + "…" : text;
    }
}
