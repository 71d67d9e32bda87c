using System.Net;
using System.Net.WebSockets;
using Cluster.Silo.Hosting;
using Cluster.Testing;

namespace Cluster.Hosting.Tests;

/// <summary>
/// The caps on client connections (<c>Cluster:MaxConnections</c>) and device sockets (<c>Cluster:MaxSockets</c>): a
/// silo that ran out of file descriptors was aborted by the runtime, so past the caps it refuses connections (closed on
/// accept) and socket upgrades (503), and keeps serving the ones it holds.
/// </summary>
public sealed class ConnectionCapacityTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1024, 512)]
    [InlineData(4096, 2048)]
    [InlineData(20_000, 17_952)]
    [InlineData(65_536, 58_983)]
    [InlineData(1_048_576, 943_719)]
    public void ForOpenFileLimit_LeavesAReserveForTheRuntimesOwnFiles(long limit, int expected) =>
        Assert.Equal(expected, ConnectionCapacity.ForOpenFileLimit(limit));

    [Fact]
    public void ParseOpenFileLimit_ProcLimits_ReadsTheSoftValue()
    {
        string[] limits =
        [
            "Limit                     Soft Limit           Hard Limit           Units     ",
            "Max processes             95567                95567                processes ",
            "Max open files            20000                20000                files     ",
        ];

        Assert.Equal(20_000, ConnectionCapacity.ParseOpenFileLimit(limits));
        Assert.Null(ConnectionCapacity.ParseOpenFileLimit(["Max open files            unlimited            unlimited            files     "]));
        Assert.Null(ConnectionCapacity.ParseOpenFileLimit(["Max processes             95567                95567                processes "]));
    }

    [Fact]
    public void ReadOpenFileLimit_ThisProcess_IsReadOnLinux()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc/self/limits is Linux's");
        Assert.InRange(ConnectionCapacity.ReadOpenFileLimit() ?? 0, 1, long.MaxValue);
    }

    [Fact]
    public async Task Connect_PastMaxSockets_RefusedWith503UntilASocketCloses()
    {
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings { Settings = new Dictionary<string, string> { ["Cluster:MaxSockets"] = "2" } }, Cancel);
        var devices = new List<TestDevice>();
        for (var i = 0; i < 3; i++)
        {
            devices.Add(await TestAccounts.RegisterAsync(silo));
        }

        await using var first = await TestSocket.ConnectAsync(silo, devices[0], Cancel);
        var second = await TestSocket.ConnectAsync(silo, devices[1], Cancel);
        var (status, retryAfter) = await RefusedAsync(silo, devices[2]);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("5", retryAfter);
        using (var http = devices[2].CreateClient(silo))
        {
            // The silo keeps serving everything else.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/messages", Cancel)).StatusCode);
        }

        await second.DisposeAsync();
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await using var third = await TestSocket.ConnectAsync(silo, devices[2], Cancel);
                    return true;
                }
                catch (WebSocketException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(15),
            () => "a socket connects once another one closed");
    }

    [Fact]
    public async Task Connect_PastMaxConnections_ClosedOnAcceptWhileSocketsAndHttpHoldThemAll()
    {
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings { Settings = new Dictionary<string, string> { ["Cluster:MaxConnections"] = "2" } }, Cancel);
        var bob = await TestAccounts.RegisterAsync(silo);
        var alice = await TestAccounts.RegisterAsync(silo);
        TestSocket? socket = null;
        using var held = alice.CreateClient(silo);
        try
        {
            // Registering used connections, gone once their clients are: until then these may be refused.
            await Eventually.TrueAsync(
                async () => (socket ??= await ConnectedOrNullAsync(silo, bob)) is not null && await OkOrFalseAsync(held),
                TimeSpan.FromSeconds(15),
                () => "bob's socket and alice's client connect once registration's connections closed");
            Assert.Empty(await socket!.ReadBacklogAsync());

            // One socket and one kept-alive HTTP connection: a third connection, of either kind, is closed on accept.
            using (var third = silo.CreateHttpClient())
            {
                await Assert.ThrowsAsync<HttpRequestException>(() => third.GetAsync("/health/live", Cancel));
            }

            await Assert.ThrowsAsync<WebSocketException>(() => TestSocket.ConnectAsync(silo, alice, Cancel));

            // The two held go on working.
            await Messages.SendOkAsync(held, bob.AccountId, Messages.Body([bob], "still here"), Cancel);
            var envelope = await socket.NextEnvelopeAsync();
            Assert.StartsWith("still here", Messages.ContentOf(envelope), StringComparison.Ordinal);
        }
        finally
        {
            if (socket is not null)
            {
                await socket.DisposeAsync();
            }
        }

        await Eventually.TrueAsync(
            async () =>
            {
                using var next = silo.CreateHttpClient();
                return await OkOrFalseAsync(next);
            },
            TimeSpan.FromSeconds(15),
            () => "a connection is accepted once the socket closed");
    }

    private static async Task<TestSocket?> ConnectedOrNullAsync(TestSilo silo, TestDevice device)
    {
        try
        {
            return await TestSocket.ConnectAsync(silo, device, Cancel);
        }
        catch (WebSocketException)
        {
            return null;
        }
    }

    private static async Task<bool> OkOrFalseAsync(HttpClient http)
    {
        try
        {
            return (await http.GetAsync("/health/live", Cancel)).StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(300, 150)]
    [InlineData(512, 256)]
    [InlineData(4096, 3072)]
    [InlineData(17_952, 16_157)]
    [InlineData(943_719, 849_348)]
    public void SocketsWithin_LeavesHeadroomForHttp(int maxConnections, int expected) =>
        Assert.Equal(expected, ConnectionCapacity.SocketsWithin(maxConnections));

    [Fact]
    public void From_SetOrDerived()
    {
        Assert.Equal(new ConnectionCapacity(300, 150), ConnectionCapacity.From(new ClusterHostOptions { MaxConnections = 300 }));
        Assert.Equal(new ConnectionCapacity(300, 20), ConnectionCapacity.From(new ClusterHostOptions { MaxConnections = 300, MaxSockets = 20 }));
    }

    private static async Task<(HttpStatusCode? Status, string? RetryAfter)> RefusedAsync(TestSilo silo, TestDevice device)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", TestDevice.BasicAuth(device.Login, device.Password).ToString());
        await Assert.ThrowsAsync<WebSocketException>(
            () => socket.ConnectAsync(new UriBuilder(silo.BaseAddress) { Scheme = "ws", Path = "/v1/websocket" }.Uri, Cancel));
        var retryAfter = socket.HttpResponseHeaders?.TryGetValue("Retry-After", out var values) == true ? values.FirstOrDefault() : null;
        return (socket.HttpStatusCode, retryAfter);
    }
}
