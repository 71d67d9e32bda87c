using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cluster.Testing;

/// <summary>
/// What the local push provider fakes share (<see cref="WebPushService"/>, and the FCM and APNs fakes of the push
/// tests): a Kestrel app on a loopback port the OS picks (HTTP/1.1 and HTTP/2, or HTTP/2 only: h2c with prior
/// knowledge, as the APNs sender speaks it to an <c>http</c> endpoint), the pushes it accepted in order, and the
/// requests it refused with why, so a test awaits the next push and fails at once, with the reason, on a bad request.
/// </summary>
public abstract class LocalPushService<TPush> : IAsyncDisposable
{
    private readonly Channel<TPush> received = Channel.CreateUnbounded<TPush>();
    private readonly Channel<string> failures = Channel.CreateUnbounded<string>();
    private readonly TaskCompletionSource held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? app;
    private int hangRequests;

    /// <summary>The service's origin, <c>http://127.0.0.1:port</c>.</summary>
    public string Origin { get; private set; } = "";

    /// <summary>Starts the app with the routes <paramref name="map"/> adds; HTTP/2 only with <paramref name="http2Only"/>.</summary>
    protected async Task StartAsync(bool http2Only, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.Protocols = http2Only ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2));
        app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Origin = new Uri(address).GetLeftPart(UriPartial.Authority);
    }

    /// <summary>How many of the next requests are held unanswered until their client gives up (a hung push service). Default: 0.</summary>
    public int HangRequests
    {
        get => Volatile.Read(ref hangRequests);
        set => Volatile.Write(ref hangRequests, value);
    }

    /// <summary>Completes when the service first holds a request (<see cref="HangRequests"/>).</summary>
    public Task Held => held.Task;

    /// <summary>Completes when the client of a held request first gave up on it.</summary>
    public Task Abandoned => abandoned.Task;

    /// <summary>Holds the request until its client gives up, if <see cref="HangRequests"/> asks for it; true when it did (the request is then over).</summary>
    protected async Task<bool> HoldIfHungAsync(HttpContext context)
    {
        if (Interlocked.Decrement(ref hangRequests) < 0)
        {
            Interlocked.Increment(ref hangRequests);
            return false;
        }

        held.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            abandoned.TrySetResult();
        }

        return true;
    }

    /// <summary>Records an accepted push.</summary>
    protected void Accept(TPush push) => received.Writer.TryWrite(push);

    /// <summary>Records a refused request and why.</summary>
    protected void Refuse(string problem) => failures.Writer.TryWrite(problem);

    /// <summary>The next accepted push, or a failure if the service refused a request first (30 s at most).</summary>
    public async Task<TPush> NextAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var push = received.Reader.ReadAsync(timeout.Token).AsTask();
        var failure = failures.Reader.ReadAsync(timeout.Token).AsTask();
        if (await Task.WhenAny(push, failure) == failure)
        {
            Assert.Fail("the push service refused a request: " + await failure);
        }

        return await push;
    }

    /// <summary>An accepted push not taken yet, if any.</summary>
    public bool TryTake(out TPush? push) => received.Reader.TryRead(out push);

    public virtual async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
