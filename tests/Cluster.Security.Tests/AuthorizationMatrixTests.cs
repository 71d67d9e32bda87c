using Cluster.Testing;

namespace Cluster.Security.Tests;

/// <summary>
/// Every route the silo maps, and every message a client sends on a socket, called as anonymous, as a device of another
/// account, as a companion, as the primary, as a removed device and with a wrong password: each answer must be the one
/// the contract gives (<see cref="AuthorizationMatrix.Rows"/>), and the calls that must not change anything do not.
/// One silo for the class; every cell makes its own fresh accounts on it.
/// </summary>
public sealed class AuthorizationMatrixTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private static readonly Caller[] Callers = Enum.GetValues<Caller>();

    private TestSilo Silo => fixture.Silo;

    public static TheoryData<string> RowNames => [.. AuthorizationMatrix.Rows.Select(r => r.Name)];

    [Fact]
    public void MappedRoutes_Enumerated_EachHasARowAndEachRowARoute()
    {
        var routes = SiloRoutes.Of(Silo).Select(r => r.Key).ToHashSet();
        var covered = AuthorizationMatrix.Rows.Select(r => r.Route).ToHashSet();

        Assert.True(routes.Count >= 25, $"the silo's endpoint data source should list its routes; it listed {string.Join(", ", routes)}");
        Assert.True(routes.IsSubsetOf(covered), $"routes without a row in AuthorizationMatrix.Rows: {string.Join(", ", routes.Except(covered))}");
        Assert.True(covered.IsSubsetOf(routes), $"rows naming a route the silo does not map: {string.Join(", ", covered.Except(routes))}");
    }

    [Theory]
    [MemberData(nameof(RowNames))]
    public async Task Route_EveryCaller_GetsTheContractsAnswer(string rowName)
    {
        var row = AuthorizationMatrix.Rows.Single(r => r.Name == rowName);
        var cells = await Task.WhenAll(Callers.Select(caller => RunAsync(row, caller)));

        var wrong = cells.Where(c => c.Problem is not null).Select(c => $"{c.Caller}: {c.Problem}").ToList();
        Assert.True(wrong.Count == 0, $"{row.Name}:\n  {string.Join("\n  ", wrong)}");
    }

    [Fact]
    public async Task BodyRoutes_AnonymousWithWrongContentType_UnauthorizedBeforeUnsupportedMediaType()
    {
        // Who is calling is settled before what they sent: a caller without credentials learns nothing about a route's
        // body from its answer, whatever content type it sends.
        var cancel = TestContext.Current.CancellationToken;
        var checkedRoutes = new List<string>();
        var wrong = new List<string>();
        foreach (var row in AuthorizationMatrix.Rows.Where(r => r.Expected.Anonymous == 401).DistinctBy(r => r.Route))
        {
            var probe = await row.Arrange(new Cell(await World.CreateAsync(Silo), Caller.Anonymous));
            try
            {
                if (probe.Request is not { Content: { } content } request)
                {
                    continue;
                }

                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
                using var http = Silo.CreateHttpClient();
                using var response = await http.SendAsync(request, cancel);
                checkedRoutes.Add(row.Route);
                if ((int)response.StatusCode != 401)
                {
                    wrong.Add($"{row.Route}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancel)}");
                }
            }
            finally
            {
                if (probe.Cleanup is { } cleanup)
                {
                    await cleanup();
                }
            }
        }

        Assert.True(checkedRoutes.Count >= 10, $"the matrix should have authenticated routes with bodies; found {string.Join(", ", checkedRoutes)}");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    private async Task<(Caller Caller, string? Problem)> RunAsync(Row row, Caller caller)
    {
        var cancel = TestContext.Current.CancellationToken;
        var cell = new Cell(await World.CreateAsync(Silo), caller);
        var probe = await row.Arrange(cell);
        try
        {
            Answer answer;
            if (probe.Socket is { } socket)
            {
                answer = await socket(cancel);
            }
            else
            {
                using var http = Silo.CreateHttpClient();
                var request = probe.Request!;
                request.Headers.Authorization = cell.Credentials;
                using var response = await http.SendAsync(request, cancel);
                answer = new Answer((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancel));
            }

            var expected = row.Expected.For(caller);
            if (answer.Status != expected)
            {
                return (caller, $"expected {expected}, got {answer.Status} {answer.Body}");
            }

            if (probe.Then is { } then)
            {
                await then(answer);
            }

            return (caller, null);
        }
        catch (Exception ex) when (ex is Xunit.Sdk.XunitException or InvalidOperationException)
        {
            return (caller, $"answered as expected, but: {ex.Message}");
        }
        finally
        {
            if (probe.Cleanup is { } cleanup)
            {
                await cleanup();
            }
        }
    }
}
