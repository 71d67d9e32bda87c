using System.Globalization;
using Cluster.Grains.Observability;

namespace Cluster.Silo.Messaging;

/// <summary>
/// How many device sockets a silo takes at once. Every socket is an open file, and so is every assembly the runtime has
/// loaded, every database file and connection: a process that runs out of file descriptors cannot load code any more,
/// and .NET then aborts it ("Out of memory."), taking every socket and grain of the silo with it. So the silo refuses
/// sockets past a cap, leaving a reserve of descriptors for everything else.
/// </summary>
internal static class SocketCapacity
{
    /// <summary>The default cap when the open-file limit cannot be read (not Linux).</summary>
    public const int WithoutKnownLimit = 100_000;

    /// <summary>
    /// The cap for an open-file limit of <paramref name="openFileLimit"/>: the limit less a reserve of a tenth of it, and
    /// at least 2,048 (half the limit when it is smaller than 4,096). A silo measured here held about 350 descriptors
    /// besides its sockets (each of some 155 assemblies mapped takes two).
    /// </summary>
    public static int ForOpenFileLimit(long openFileLimit)
    {
        var reserve = Math.Max(openFileLimit / 10, Math.Min(2048, openFileLimit / 2));
        return (int)Math.Clamp(openFileLimit - reserve, 1, int.MaxValue);
    }

    /// <summary>Exports the cap as <c>cluster_sockets_max</c>; returns it.</summary>
    public static int Publish(int cap)
    {
        ClusterMetrics.SetSocketsMax(cap);
        return cap;
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
}
