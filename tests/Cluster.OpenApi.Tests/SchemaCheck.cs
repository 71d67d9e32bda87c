using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cluster.OpenApi.Tests;

/// <summary>
/// Checks a JSON value against a schema of the OpenAPI document, as far as a generated client depends on it: the JSON
/// type, every member the value has is a property of the schema (the names are what the server writes), every
/// required property is there; <c>$ref</c>, <c>oneOf</c>/<c>anyOf</c>/<c>allOf</c>, nullable types and <c>items</c>.
/// </summary>
internal static class SchemaCheck
{
    public static List<string> Problems(JsonNode document, JsonNode schema, JsonNode? value, string path)
    {
        var problems = new List<string>();
        Check(document, schema, value, path, problems);
        return problems;
    }

    private static void Check(JsonNode document, JsonNode schema, JsonNode? value, string path, List<string> problems)
    {
        if (schema["$ref"] is { } reference)
        {
            var name = ((string)reference!).Split('/')[^1];
            var target = document["components"]?["schemas"]?[name];
            if (target is null)
            {
                problems.Add($"{path}: $ref {reference} names no schema");
                return;
            }

            Check(document, target, value, path, problems);
            return;
        }

        foreach (var key in (string[])["oneOf", "anyOf"])
        {
            if (schema[key] is JsonArray branches)
            {
                var results = branches.Select(b => Problems(document, b!, value, path)).ToList();
                if (results.All(r => r.Count > 0))
                {
                    problems.Add($"{path}: matches no branch of {key}: " + string.Join(" | ", results.Select(r => string.Join("; ", r))));
                }

                return;
            }
        }

        if (schema["allOf"] is JsonArray all)
        {
            foreach (var branch in all)
            {
                Check(document, branch!, value, path, problems);
            }
        }

        var types = schema["type"] switch
        {
            JsonValue single => [(string)single!],
            JsonArray many => many.Select(t => (string)t!).ToArray(),
            _ => Array.Empty<string>(),
        };
        var kind = KindOf(value);
        if (types.Length > 0 && !types.Contains(kind) && !(kind == "integer" && types.Contains("number")))
        {
            problems.Add($"{path}: is {kind}, the schema says {string.Join(" or ", types)}");
            return;
        }

        if (value is JsonObject obj)
        {
            var properties = schema["properties"] as JsonObject;
            foreach (var (member, memberValue) in obj)
            {
                if (properties?[member] is { } propertySchema)
                {
                    Check(document, propertySchema, memberValue, $"{path}.{member}", problems);
                }
                else if (schema["additionalProperties"] is not JsonObject)
                {
                    problems.Add($"{path}.{member}: the server sends it, the schema has no such property (has: {string.Join(", ", properties?.Select(p => p.Key) ?? [])})");
                }
            }

            foreach (var required in schema["required"] as JsonArray ?? [])
            {
                if (!obj.ContainsKey((string)required!))
                {
                    problems.Add($"{path}: the schema requires {required}, the server did not send it");
                }
            }
        }
        else if (value is JsonArray array && schema["items"] is { } items)
        {
            for (var i = 0; i < array.Count; i++)
            {
                Check(document, items, array[i], $"{path}[{i}]", problems);
            }
        }
    }

    private static string KindOf(JsonNode? value) => value switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => v.ToJsonString().Contains('.', StringComparison.Ordinal) || v.ToJsonString().Contains('e', StringComparison.OrdinalIgnoreCase) ? "number" : "integer",
            _ => "null",
        },
        _ => "unknown",
    };
}
