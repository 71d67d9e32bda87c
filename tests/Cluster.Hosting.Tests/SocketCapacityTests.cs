using System.Net;
using System.Net.WebSockets;
using Cluster.Silo.Messaging;
using Cluster.Testing;

namespace Cluster.Hosting.Tests;

/// <summary>
/// The cap on device sockets (<c>Cluster:MaxSockets</c>): a silo that ran out of file descriptors was aborted by the
/// runtime, so past the cap it refuses socket upgrades with 503 and keeps serving.
/// </summary>
public sealed class SocketCapacityTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1024, 512)]
    [InlineData(4096, 2048)]
    [InlineData(20_000, 17_952)]
    [InlineData(65_536, 58_983)]
    [InlineData(1_048_576, 943_719)]
    public void ForOpenFileLimit_LeavesAReserveForTheRuntimesOwnFiles(long limit, int expected) =>
        Assert.Equal(expected, SocketCapacity.ForOpenFileLimit(limit));

    [Fact]
    public void ParseOpenFileLimit_ProcLimits_ReadsTheSoftValue()
    {
        string[] limits =
        [
            "Limit                     Soft Limit           Hard Limit           Units     ",
            "Max processes             95567                95567                processes ",
            "Max open files            20000                20000                files     ",
        ];

        Assert.Equal(20_000, SocketCapacity.ParseOpenFileLimit(limits));
        Assert.Null(SocketCapacity.ParseOpenFileLimit(["Max open files            unlimited            unlimited            files     "]));
        Assert.Null(SocketCapacity.ParseOpenFileLimit(["Max processes             95567                95567                processes "]));
    }

    [Fact]
    public void ReadOpenFileLimit_ThisProcess_IsReadOnLinux()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc/self/limits is Linux's");
        Assert.InRange(SocketCapacity.ReadOpenFileLimit() ?? 0, 1, long.MaxValue);
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
