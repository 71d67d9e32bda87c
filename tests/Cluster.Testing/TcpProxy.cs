using System.Net;
using System.Net.Sockets;

namespace Cluster.Testing;

/// <summary>
/// A loopback TCP proxy in front of a silo, for tests of what clients do when the network fails: it can cut every
/// connection at once, and refuse new ones until resumed.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Uri target;
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock gate = new();
    private readonly List<(TcpClient Client, TcpClient Upstream)> links = [];
    private readonly Task accepting;
    private bool refusing;

    public TcpProxy(Uri target)
    {
        this.target = target;
        listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        accepting = AcceptAsync();
    }

    /// <summary>The proxy's address, to give clients instead of the silo's.</summary>
    public Uri Address { get; }

    /// <summary>Resets every open connection, as a network failure or a dead host would.</summary>
    public void Cut()
    {
        lock (gate)
        {
            foreach (var (client, upstream) in links)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                upstream.Dispose();
            }

            links.Clear();
        }
    }

    /// <summary>Cuts every connection and resets new ones until <see cref="Resume"/>.</summary>
    public void Pause()
    {
        lock (gate)
        {
            refusing = true;
        }

        Cut();
    }

    /// <summary>Accepts and forwards connections again.</summary>
    public void Resume()
    {
        lock (gate)
        {
            refusing = false;
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(stopping.Token);
                bool refuse;
                lock (gate)
                {
                    refuse = refusing;
                }

                if (refuse)
                {
                    client.Client.LingerState = new LingerOption(true, 0);
                    client.Dispose();
                    continue;
                }

                _ = ForwardAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(target.Host, target.Port, stopping.Token);
            lock (gate)
            {
                links.Add((client, upstream));
            }

            var down = client.GetStream();
            var up = upstream.GetStream();
            await Task.WhenAny(down.CopyToAsync(up, stopping.Token), up.CopyToAsync(down, stopping.Token));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            lock (gate)
            {
                links.Remove((client, upstream));
            }

            client.Dispose();
            upstream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        Cut();
        await accepting;
        stopping.Dispose();
    }
}
