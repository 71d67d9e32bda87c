using Cluster.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Security.Tests;

/// <summary>One route a silo serves: a method (<c>*</c> for any) and its pattern, e.g. <c>PUT /v1/messages/{accountId}</c>.</summary>
internal sealed record SiloRoute(string Method, string Pattern)
{
    public string Key => $"{Method} {Pattern}";

    /// <summary>The names of the pattern's parameters, in order.</summary>
    public IReadOnlyList<string> Parameters { get; init; } = [];

    /// <summary>The method to call it with: the route's own, or GET for a route that takes any.</summary>
    public string CallMethod => Method == "*" ? "GET" : Method;

    public override string ToString() => Key;
}

internal static class SiloRoutes
{
    /// <summary>
    /// Every route the silo has mapped, read from its endpoint data source: a route added to the silo appears here
    /// without anyone listing it, so the tests that go through this list cover it (or fail for want of a row).
    /// </summary>
    public static IReadOnlyList<SiloRoute> Of(TestSilo silo)
    {
        var routes = new List<SiloRoute>();
        foreach (var endpoint in silo.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');
            var parameters = endpoint.RoutePattern.Parameters.Select(p => p.Name).ToList();
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            foreach (var method in methods is { Count: > 0 } ? methods : ["*"])
            {
                routes.Add(new SiloRoute(method, pattern) { Parameters = parameters });
            }
        }

        return [.. routes.DistinctBy(r => r.Key).OrderBy(r => r.Pattern, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal)];
    }
}
