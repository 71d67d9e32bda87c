using System.Collections.Concurrent;
using System.Diagnostics;

namespace Cluster.LoadTest.Progress;

/// <summary>What the run is doing and its counters, updated by every device and operation, read by the progress view and the report.</summary>
internal sealed class RunStatus
{
    private readonly ConcurrentDictionary<string, long> errors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> events = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> drops = new(StringComparer.Ordinal);
    private long registered;
    private long linked;
    private long connected;
    private long scheduled;
    private long completed;
    private long failed;
    private long inFlight;
    private long acked;
    private long reconnects;
    private long disconnects;
    private long setupTarget;
    private volatile string phase = "starting";

    public long StartedAt { get; } = Stopwatch.GetTimestamp();

    public string Phase
    {
        get => phase;
        set => phase = value;
    }

    /// <summary>Live counters the scenario adds to the progress view (e.g. copies still outstanding).</summary>
    public Func<IReadOnlyList<(string Name, long Value)>>? Extra { get; set; }

    public long SetupTarget { get => Interlocked.Read(ref setupTarget); set => Interlocked.Exchange(ref setupTarget, value); }

    public long Registered => Interlocked.Read(ref registered);

    public long Linked => Interlocked.Read(ref linked);

    public long Connected => Interlocked.Read(ref connected);

    public long Scheduled => Interlocked.Read(ref scheduled);

    public long Completed => Interlocked.Read(ref completed);

    public long Failed => Interlocked.Read(ref failed);

    public long InFlight => Interlocked.Read(ref inFlight);

    public long Acked => Interlocked.Read(ref acked);

    public long Reconnects => Interlocked.Read(ref reconnects);

    public long Disconnects => Interlocked.Read(ref disconnects);

    public long ErrorCount => errors.Values.Sum();

    public void AddRegistered() => Interlocked.Increment(ref registered);

    public void AddLinked() => Interlocked.Increment(ref linked);

    public void AddConnected(int delta = 1) => Interlocked.Add(ref connected, delta);

    public void AddAcked(int count) => Interlocked.Add(ref acked, count);

    public void AddReconnect() => Interlocked.Increment(ref reconnects);

    /// <summary>A socket ended without the run asking: with the server's close code, or none when the connection broke.</summary>
    public void AddDisconnect(int? closeStatus)
    {
        Interlocked.Increment(ref disconnects);
        drops.AddOrUpdate(closeStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no close frame", 1, (_, n) => n + 1);
    }

    public void OperationStarted()
    {
        Interlocked.Increment(ref scheduled);
        Interlocked.Increment(ref inFlight);
    }

    public void OperationEnded(bool succeeded)
    {
        Interlocked.Decrement(ref inFlight);
        Interlocked.Increment(ref succeeded ? ref completed : ref failed);
    }

    /// <summary>Counts one failed request or check, by a short kind such as <c>send 503</c> or <c>connect timeout</c>.</summary>
    public void Error(string kind) => errors.AddOrUpdate(kind, 1, (_, n) => n + 1);

    public void Event(string type) => events.AddOrUpdate(type, 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, long> Errors => new SortedDictionary<string, long>(errors, StringComparer.Ordinal);

    /// <summary>Socket drops by close code.</summary>
    public IReadOnlyDictionary<string, long> Drops => new SortedDictionary<string, long>(drops, StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Events => new SortedDictionary<string, long>(events, StringComparer.Ordinal);
}
