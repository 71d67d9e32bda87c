using System.Globalization;
using Cluster.Grains.Observability;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Cluster.Silo.Hosting;

/// <summary>
/// How many client connections, and how many device sockets among them, a silo holds at once. Every connection is an
/// open file, and so is every assembly the runtime has loaded, every database file and connection: a process that runs
/// out of file descriptors cannot load code any more, and .NET then aborts it ("Out of memory."), taking every socket
/// and grain of the silo with it. So the silo refuses connections past a cap, leaving a reserve of descriptors for
/// everything else, and socket upgrades past a second cap (503 <c>at_capacity</c>).
/// </summary>
internal sealed record ConnectionCapacity(int MaxConnections, int MaxSockets)
{
    /// <summary>The default cap when the open-file limit cannot be read (not Linux).</summary>
    public const int WithoutKnownLimit = 100_000;

    /// <summary>
    /// The caps <paramref name="options"/> set; each one not set is derived: all connections from the process's
    /// open-file limit (<see cref="ForOpenFileLimit"/>), sockets from the connections (<see cref="SocketsWithin"/>).
    /// </summary>
    public static ConnectionCapacity From(ClusterHostOptions options)
    {
        var connections = options.MaxConnections
            ?? (ReadOpenFileLimit() is { } limit ? ForOpenFileLimit(limit) : WithoutKnownLimit);
        return new ConnectionCapacity(connections, options.MaxSockets ?? SocketsWithin(connections));
    }

    /// <summary>
    /// The default socket cap within <paramref name="maxConnections"/>: all but a tenth of them, and all but at least
    /// 1,024 (half, under 2,048). Sockets are long-lived, so without that headroom a silo full of sockets could not
    /// answer anything else: sends, health probes, the 503 that sends further sockets to another silo.
    /// </summary>
    public static int SocketsWithin(int maxConnections) =>
        Math.Max(1, maxConnections - Math.Max(maxConnections / 10, Math.Min(1024, maxConnections / 2)));

    /// <summary>
    /// The cap for an open-file limit of <paramref name="openFileLimit"/>: the limit less a reserve of a tenth of it, and
    /// at least 2,048 (half the limit when it is smaller than 4,096). A silo measured here held about 350 descriptors
    /// besides its connections (each of some 155 assemblies mapped takes two).
    /// </summary>
    public static int ForOpenFileLimit(long openFileLimit)
    {
        var reserve = Math.Max(openFileLimit / 10, Math.Min(2048, openFileLimit / 2));
        return (int)Math.Clamp(openFileLimit - reserve, 1, int.MaxValue);
    }

    /// <summary>The process's soft open-file limit from <c>/proc/self/limits</c> (after the runtime raised it to the hard limit), or null.</summary>
    public static long? ReadOpenFileLimit(string path = "/proc/self/limits")
    {
        try
        {
            return File.Exists(path) ? ParseOpenFileLimit(File.ReadAllLines(path)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The soft value of the <c>Max open files</c> line; null when absent or <c>unlimited</c>.</summary>
    public static long? ParseOpenFileLimit(IEnumerable<string> limits)
    {
        const string Name = "Max open files";
        var line = limits.FirstOrDefault(l => l.StartsWith(Name, StringComparison.Ordinal));
        var soft = line?[Name.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>
    /// Caps the connections every Kestrel endpoint holds at once, plain HTTP and upgraded sockets together (Kestrel's
    /// own limits count the two apart, so together they could still exhaust the descriptors). A connection past the cap
    /// is closed as soon as it is accepted, before a byte is read: the client sees the connection end and tries another
    /// silo. Exports <c>cluster_connections_max</c>; each refusal counts in <c>cluster_connections_refused_total</c>.
    /// </summary>
    public void Apply(KestrelServerOptions kestrel)
    {
        ClusterMetrics.SetConnectionsMax(MaxConnections);
        ClusterMetrics.SetSocketsMax(MaxSockets);
        var open = 0;
        kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Use(next => async connection =>
        {
            if (Interlocked.Increment(ref open) > MaxConnections)
            {
                Interlocked.Decrement(ref open);
                ClusterMetrics.ConnectionRefused();
                connection.Abort(new ConnectionAbortedException("the silo holds its maximum of connections"));
                return;
            }

            try
            {
                await next(connection);
            }
            finally
            {
                Interlocked.Decrement(ref open);
            }
        }));
    }
}
