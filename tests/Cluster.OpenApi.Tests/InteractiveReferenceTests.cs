using System.Net;
using Cluster.Silo.OpenApi;
using Cluster.Testing;

namespace Cluster.OpenApi.Tests;

/// <summary>
/// The interactive API reference (Scalar) is a development aid: served by an embedded silo in the Development
/// environment, absent in production and in cluster mode, where the document alone is served.
/// </summary>
public sealed class InteractiveReferenceTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reference_DevelopmentEmbeddedSilo_ServedAndPointsAtTheDocument()
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Settings = new Dictionary<string, string> { ["environment"] = "Development" } }, Cancel);
        using var http = silo.CreateHttpClient();

        using var page = await http.GetAsync(new Uri(OpenApiExtensions.ReferencePath + "/v1", UriKind.Relative), Cancel);
        var html = await page.Content.ReadAsStringAsync(Cancel);
        // The page's script is served by the silo itself, not fetched from a CDN.
        using var script = await http.GetAsync(new Uri(OpenApiExtensions.ReferencePath + "/scalar.js", UriKind.Relative), Cancel);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"url\":\"openapi/v1.json\"", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Fact]
    public async Task Reference_ProductionSilo_NotServedButDocumentIs()
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Settings = new Dictionary<string, string> { ["environment"] = "Production" } }, Cancel);
        using var http = silo.CreateHttpClient();

        using var page = await http.GetAsync(new Uri(OpenApiExtensions.ReferencePath + "/v1", UriKind.Relative), Cancel);
        using var document = await http.GetAsync(new Uri(OpenApiExtensions.DocumentPath, UriKind.Relative), Cancel);

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
    }

    [Fact]
    public async Task Reference_DevelopmentClusterSilo_NotServed()
    {
        await using var database = await TestDatabase.CreateMigratedAsync(Cluster.Persistence.StorageKind.PostgreSql, Cancel);
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings
            {
                PostgresConnectionString = database.ConnectionString,
                ClusterId = "openapi-" + Guid.NewGuid().ToString("N"),
                Settings = new Dictionary<string, string> { ["environment"] = "Development" },
            },
            Cancel);
        using var http = silo.CreateHttpClient();

        using var page = await http.GetAsync(new Uri(OpenApiExtensions.ReferencePath + "/v1", UriKind.Relative), Cancel);

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
    }
}
