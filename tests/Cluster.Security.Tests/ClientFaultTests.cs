using System.Net;
using System.Net.Http.Json;
using System.Text;
using Cluster.Silo.Protocol;
using Cluster.Testing;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Cluster.Security.Tests;

/// <summary>
/// Faults of the client on the wire (a broken body, a slow one, a client gone mid-request) are answered with their 4xx
/// and leave no Error-level log entry; a fault of the server itself still does.
/// </summary>
public sealed class ClientFaultTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MalformedChunkedBody_Registration_Answers400WithErrorBodyAndLogsNoError()
    {
        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = logs.AddTo }, Cancel);

        var bodies = new[] { "zz\r\n{}\r\n0\r\n\r\n", "FFFFFFFFFFFFFFFFFF\r\n{}", "2\r\n{}xx0\r\n\r\n", "2\r\n{}\r\n0\r\nBad\0Trailer: x\r\n\r\n" };
        var answers = new List<int?>();
        foreach (var body in bodies)
        {
            answers.Add(await PostChunkedAsync(silo, body, RawEnding.Open));
        }

        Assert.All(answers, a => Assert.Equal(400, a));
        Assert.Empty(logs.Errors);
    }

    [Fact]
    public async Task MalformedChunkedBody_ErrorBody_NamesTheFault()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(silo.BaseAddress.Host, silo.BaseAddress.Port, Cancel);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(ChunkedHead(silo) + "zz\r\n{}\r\n0\r\n\r\n"), Cancel);

        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync(Cancel);

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.Contains("\"error\":\"bad_request\"", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowBody_Registration_Answers408AndLogsNoError()
    {
        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = logs.AddTo }, Cancel);
        var body = Encoding.UTF8.GetBytes(TestAccounts.NewRegistration().Body.ToJsonString());
        var head = $"POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n";

        // A tenth of the body, then nothing: Kestrel gives up once the body arrives slower than its minimum data rate.
        var answer = await RawHttp.SendAsync(silo.BaseAddress, [Encoding.ASCII.GetBytes(head), body[..(body.Length / 10)]], RawEnding.Open, TimeSpan.FromSeconds(30), Cancel);

        Assert.Equal(408, answer?.Status);
        Assert.Empty(logs.Errors);
    }

    [Fact]
    public async Task ClientGoneMidBody_EveryBodyReadingRoute_LogsNoError()
    {
        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = logs.AddTo }, Cancel);
        var device = await TestAccounts.RegisterAsync(silo);
        var credentials = TestDevice.BasicAuth(device.Login, device.Password).ToString();
        string[] routes = ["POST /v1/accounts", "PUT /v1/keys", $"PUT /v1/messages/{Uri.EscapeDataString(device.AccountId)}", "POST /v1/calls", "POST /v1/blobs", "PUT /v1/devices/link"];

        foreach (var route in routes)
        {
            foreach (var ending in new[] { RawEnding.Reset, RawEnding.HalfClose })
            {
                var head = $"{route} HTTP/1.1\r\nHost: x\r\nAuthorization: {credentials}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
                await RawHttp.SendAsync(silo.BaseAddress, [Encoding.ASCII.GetBytes(head), "{\"a\":\""u8.ToArray()], ending, TimeSpan.FromSeconds(15), Cancel);
            }
        }

        // The silo still serves, and said nothing at Error about the clients that left.
        using var http = device.CreateClient(silo);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/keys", Cancel)).StatusCode);
        Assert.Empty(logs.Errors);
    }

    [Theory]
    [InlineData("json", "reset")]
    [InlineData("json", "close")]
    [InlineData("blob", "reset")]
    [InlineData("blob", "close")]
    public async Task ClientGoneMidBody_MessageSendAndBlobUpload_EndsQuietly(string route, string leaving)
    {
        var ending = leaving == "reset" ? RawEnding.Reset : RawEnding.Close;
        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = logs.AddTo }, Cancel);
        var sender = await TestAccounts.RegisterAsync(silo);
        var receiver = await TestAccounts.RegisterAsync(silo);
        var credentials = TestDevice.BasicAuth(sender.Login, sender.Password).ToString();
        var (target, contentType, body) = route == "json"
            ? ($"PUT /v1/messages/{Uri.EscapeDataString(receiver.AccountId)}", "application/json", Encoding.UTF8.GetBytes(Messages.Body([receiver], new string('x', 4000)).ToJsonString()))
            : ("POST /v1/blobs", "application/octet-stream", new byte[64 * 1024]);
        var head = Encoding.ASCII.GetBytes($"{target} HTTP/1.1\r\nHost: x\r\nAuthorization: {credentials}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\n\r\n");

        // Many at once, so some leave while the silo is busy: Kestrel tells the request it was aborted only later, from the thread pool.
        await Task.WhenAll(Enumerable.Range(0, 24).Select(_ =>
            RawHttp.SendAsync(silo.BaseAddress, [head, body[..(body.Length / 2)]], ending, TimeSpan.FromSeconds(15), Cancel)));

        // Nothing was stored of the half bodies, the silo still serves, and nothing above Information was said about the clients that left.
        using var http = receiver.CreateClient(silo);
        // One CI run saw this GET unanswered for a minute (not reproduced since): if it stalls again, say what the silo was doing.
        var page = await StallReport.WithinAsync(silo, logs, TimeSpan.FromSeconds(30), t => http.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/v1/messages", t), Cancel);
        Assert.Empty(page!["envelopes"]!.AsArray());
        Assert.Empty(logs.Errors);
        Assert.DoesNotContain(logs.Entries, e => e.Category.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) || e.Exception is IOException or BadHttpRequestException);
    }

    [Fact]
    public void StatusOf_ConnectionResetBeforeRequestAbortedIsSignalled_ClientGone()
    {
        // Kestrel cancels RequestAborted from the thread pool: under load the body read's exception comes first.
        var context = new DefaultHttpContext();

        Assert.Equal(0, ClientFaults.StatusOf(new ConnectionResetException("reset by peer", new System.Net.Sockets.SocketException(104)), context));
        Assert.Equal(0, ClientFaults.StatusOf(new ConnectionAbortedException("aborted"), context));
        Assert.Equal(0, ClientFaults.StatusOf(new IOException("read failed", new ConnectionResetException("reset by peer")), context));
    }

    [Fact]
    public async Task DeviceSocket_ResetRightAfterUpgradeWithBacklog_LogsNoError()
    {
        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = logs.AddTo }, Cancel);
        var world = await World.CreateAsync(silo);
        for (var i = 0; i < 20; i++)
        {
            await world.QueueAsync(world.Stranger, world.Primary, $"backlog {i}");
        }

        // The grain pushes the backlog one-way as the socket attaches; the client is gone before it arrives.
        var header = new SocketLogin(world.Primary.Login, world.Primary.Password).Header;
        for (var i = 0; i < 40; i++)
        {
            var (status, socket) = await RawWebSocket.ConnectAsync(silo.BaseAddress, "/v1/websocket", [header], replaceUpgradeHeaders: false, Cancel);
            Assert.Equal(101, status);
            socket!.Reset();
            await socket.DisposeAsync();
        }

        await using var last = await TestSocket.ConnectAsync(silo, world.Primary, Cancel);
        Assert.Equal(20, (await last.ReadBacklogAsync()).Count(e => Messages.ContentOf(e).StartsWith("backlog", StringComparison.Ordinal)));
        Assert.Empty(logs.Errors);
    }

    [Fact]
    public void StatusOf_ServerFaults_AreNotClientFaults()
    {
        var context = new DefaultHttpContext();
        using var aborted = new CancellationTokenSource();
        var gone = new DefaultHttpContext { RequestAborted = aborted.Token };
        aborted.Cancel();

        // The server's own faults reach Kestrel as they are (a 500, logged at Error), even while the client waits.
        Assert.Null(ClientFaults.StatusOf(new InvalidOperationException("a bug"), context));
        Assert.Null(ClientFaults.StatusOf(new IOException("the disk"), context));
        Assert.Null(ClientFaults.StatusOf(new OperationCanceledException(), context));
        Assert.Null(ClientFaults.StatusOf(new InvalidOperationException("a bug"), gone));

        // The client's: its status, or 0 (nothing to answer) once it has gone.
        Assert.Equal(408, ClientFaults.StatusOf(new BadHttpRequestException("slow", 408), context));
        Assert.Equal(0, ClientFaults.StatusOf(new IOException("reset"), gone));
        Assert.Equal(0, ClientFaults.StatusOf(new OperationCanceledException(), gone));
    }

    private static async Task<int?> PostChunkedAsync(TestSilo silo, string chunks, RawEnding ending) =>
        (await RawHttp.SendAsync(silo.BaseAddress, [Encoding.ASCII.GetBytes(ChunkedHead(silo)), Encoding.Latin1.GetBytes(chunks)], ending, TimeSpan.FromSeconds(15), Cancel))?.Status;

    private static string ChunkedHead(TestSilo silo) =>
        $"POST /v1/accounts HTTP/1.1\r\nHost: {silo.BaseAddress.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
}
