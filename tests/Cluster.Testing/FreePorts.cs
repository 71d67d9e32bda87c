using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Cluster.Testing;

/// <summary>Ports the OS says are free now (Orleans' silo and gateway endpoints cannot bind port 0 themselves).</summary>
public static class FreePorts
{
    private const int LowestReusable = 15_000;

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>A free port from the OS's ephemeral range, for a listener that binds it once, right away.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// A free port below the OS's ephemeral range, for a process that is stopped and started again on the same port (a
    /// restarted silo, a restarted database). A port of the ephemeral range may be taken meanwhile as the local end of
    /// any outgoing connection on the machine, and the restart then fails with "address already in use"; ports below
    /// the range are never handed out that way.
    /// </summary>
    public static int Reusable()
    {
        var ceiling = EphemeralRangeStart();
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(LowestReusable, ceiling);
            lock (HandedOut)
            {
                if (!HandedOut.Contains(port) && IsFree(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"no free port between {LowestReusable} and {ceiling}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first port of Linux's ephemeral range (<c>ip_local_port_range</c>), 32768 where it cannot be read.</summary>
    private static int EphemeralRangeStart()
    {
        const string Path = "/proc/sys/net/ipv4/ip_local_port_range";
        var first = File.Exists(Path) ? File.ReadAllText(Path).Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() : null;
        return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var start) && start > LowestReusable + 1000 ? start : 32_768;
    }
}
