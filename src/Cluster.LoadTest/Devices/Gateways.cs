using Cluster.Client;
using Cluster.Client.Messaging;

namespace Cluster.LoadTest.Devices;

/// <summary>
/// The targets and the connection pools every simulated device shares: one HTTP handler for all requests, one for
/// all socket upgrades. Device <c>i</c> starts at target <c>i mod n</c> so that devices spread over silos. Sends go over
/// a device's socket or HTTP as the run says (<c>--send-over</c>).
/// </summary>
internal sealed class Gateways : IDisposable
{
    private readonly SocketsHttpHandler httpHandler;
    private readonly HttpClient[] clients;

    public Gateways(IReadOnlyList<Uri> targets, TimeSpan requestTimeout, SendTransport sendOver = SendTransport.Socket)
    {
        Targets = targets;
        SendOver = sendOver;
        httpHandler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        clients = [.. targets.Select(target => new HttpClient(httpHandler, disposeHandler: false) { BaseAddress = target, Timeout = requestTimeout })];
        SocketInvoker = new HttpMessageInvoker(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) });
    }

    public IReadOnlyList<Uri> Targets { get; }

    /// <summary>How a device's client sends messages when it has a socket.</summary>
    public SendTransport SendOver { get; }

    public int Count => Targets.Count;

    public HttpMessageInvoker SocketInvoker { get; }

    public Uri Target(int slot) => Targets[Slot(slot)];

    /// <summary>
    /// A client on target <paramref name="slot"/> mod n, anonymous or as a device. The load generator retries itself,
    /// on the next target (<see cref="Failures"/>), and counts every failed attempt: the SDK's own send retries are off.
    /// With the device's <paramref name="connection"/>, sends go over it while it is connected, unless the run said HTTP.
    /// </summary>
    public ClusterClient Client(int slot, DeviceCredentials? credentials = null, DeviceConnection? connection = null) =>
        new(clients[Slot(slot)], credentials) { SendRetries = SendRetryPolicy.None, Connection = connection, SendOver = SendOver };

    /// <summary>The targets in order, starting at <paramref name="slot"/> mod n: a device's socket tries them in turn.</summary>
    public IReadOnlyList<Uri> Rotated(int slot)
    {
        var start = Slot(slot);
        return [.. Targets.Skip(start), .. Targets.Take(start)];
    }

    public void Dispose()
    {
        foreach (var client in clients)
        {
            client.Dispose();
        }

        httpHandler.Dispose();
        SocketInvoker.Dispose();
    }

    private int Slot(int slot) => (int)((uint)slot % (uint)Targets.Count);
}
