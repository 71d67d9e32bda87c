using System.Text.Json.Nodes;
using Cluster.Silo.OpenApi;
using Cluster.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;

namespace Cluster.OpenApi.Tests;

/// <summary>
/// <c>/openapi/v1.json</c>: it matches the committed <c>docs/openapi.json</c>, it describes every route the silo maps
/// (with its success answer, every refusal status with its error body, and the security scheme), and what the silo
/// really answers fits the schemas.
/// </summary>
public sealed class OpenApiDocumentTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    /// <summary>Routes outside <c>/v1</c> that are operations, not API: health probes, the scrape, the document itself.</summary>
    private static readonly HashSet<string> OperationalRoutes = ["/health/live", "/health/ready", "/metrics", "/openapi/{documentName}.json"];

    /// <summary>The WebSockets: described in docs/protocol.md (OpenAPI has no way to describe their frames).</summary>
    private static readonly HashSet<string> SocketRoutes = ["/v1/websocket", "/v1/provisioning"];

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ServedDocument_ComparedWithDocsCopy_Identical()
    {
        var served = await OpenApiDocument.FetchAsync(fixture.Silo, Cancel);
        if (Environment.GetEnvironmentVariable(OpenApiDocument.UpdateVariable) == "1")
        {
            await File.WriteAllTextAsync(OpenApiDocument.CommittedPath, OpenApiDocument.Text(served), Cancel);
            return;
        }

        Assert.True(File.Exists(OpenApiDocument.CommittedPath), $"{OpenApiDocument.CommittedPath} is missing. Write it with:\n  {OpenApiDocument.RegenerateCommand}");
        var committed = JsonNode.Parse(await File.ReadAllTextAsync(OpenApiDocument.CommittedPath, Cancel));
        var differences = OpenApiDocument.Differences(committed, served);
        Assert.True(
            differences.Count == 0,
            "the served /openapi/v1.json differs from docs/openapi.json (an endpoint or DTO changed). If the change is meant, "
            + $"regenerate the copy and commit it:\n  {OpenApiDocument.RegenerateCommand}\nfirst differences:\n  " + string.Join("\n  ", differences));
    }

    [Fact]
    public async Task Document_EveryMappedEndpoint_DescribedWithEveryErrorStatus()
    {
        var document = await OpenApiDocument.FetchAsync(fixture.Silo, Cancel);
        var endpoints = ((IEndpointRouteBuilder)fixture.Silo.App).DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>().ToList();
        var problems = new List<string>();
        var described = 0;
        foreach (var endpoint in endpoints)
        {
            var route = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            if (OperationalRoutes.Contains(route) || (SocketRoutes.Contains(route) && endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true }))
            {
                continue;
            }

            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["(any method)"])
            {
                described++;
                problems.AddRange(Describe(document, endpoint, route, method));
            }
        }

        Assert.True(described >= 35, $"only {described} operations found among {endpoints.Count} endpoints");
        Assert.True(
            problems.Count == 0,
            "routes the OpenAPI document does not describe fully. Annotate each in its feature's Map (see OpenApiExtensions): "
            + ".Operation(id, tag, summary), .Accepts<TRequest>() for a JSON body, .Returns<TResponse>(status) or .ReturnsNothing(), "
            + $".Errors(statuses...) (even empty), then regenerate docs/openapi.json:\n  {OpenApiDocument.RegenerateCommand}\n"
            + string.Join('\n', problems));
    }

    [Fact]
    public async Task Document_SecurityScheme_IsHttpBasic()
    {
        var document = await OpenApiDocument.FetchAsync(fixture.Silo, Cancel);

        var scheme = document["components"]?["securitySchemes"]?[OpenApiExtensions.SecurityScheme];
        Assert.NotNull(scheme);
        Assert.Equal("http", (string?)scheme["type"]);
        Assert.Equal("basic", (string?)scheme["scheme"]);
        Assert.Null(document["paths"]!["/v1/accounts"]!["post"]!["security"]);
        Assert.Equal(
            OpenApiExtensions.SecurityScheme,
            document["paths"]!["/v1/devices"]!["get"]!["security"]!.AsArray().Single()!.AsObject().Single().Key);
    }

    private static IEnumerable<string> Describe(JsonNode document, RouteEndpoint endpoint, string route, string method)
    {
        var name = $"{method} {route}";
        var operation = document["paths"]?[route]?[method.ToLowerInvariant()];
        if (operation is null)
        {
            yield return $"{name}: not in the document";
            yield break;
        }

        var operationId = endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (operationId is null || (string?)operation["operationId"] != operationId)
        {
            yield return $"{name}: no .Operation(...) (operationId)";
        }

        var errors = endpoint.Metadata.GetOrderedMetadata<ApiErrorStatuses>();
        if (errors.Count == 0)
        {
            yield return $"{name}: no .Errors(...)";
        }

        var responses = operation["responses"] as JsonObject ?? [];
        if (!responses.Any(r => r.Key.StartsWith('2')))
        {
            yield return $"{name}: no success answer (.Returns<T>() or .ReturnsNothing())";
        }

        foreach (var status in errors.SelectMany(e => e.Statuses).Distinct())
        {
            var schema = responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)]?["content"]?["application/json"]?["schema"];
            if (schema is null)
            {
                yield return $"{name}: refusal {status} has no JSON error body in the document";
            }
            else if (!HasProperties(document, schema, "error", "message"))
            {
                yield return $"{name}: refusal {status}'s body has no error and message";
            }
        }

        var authorized = endpoint.Metadata.GetMetadata<IAuthorizeData>() is not null;
        if (authorized && (operation["security"] is not JsonArray { Count: > 0 } || responses["401"] is null))
        {
            yield return $"{name}: authenticated, but the document has no security requirement or 401";
        }
    }

    private static bool HasProperties(JsonNode document, JsonNode schema, params string[] names)
    {
        if (schema["$ref"] is { } reference)
        {
            schema = document["components"]!["schemas"]![((string)reference!).Split('/')[^1]]!;
        }

        return names.All(n => schema["properties"]?[n] is not null);
    }
}
