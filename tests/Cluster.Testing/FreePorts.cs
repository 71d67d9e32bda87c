using System.Net;
using System.Net.Sockets;

namespace Cluster.Testing;

/// <summary>Ports the OS says are free now (Orleans' silo and gateway endpoints cannot bind port 0 themselves).</summary>
public static class FreePorts
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
