using System.Diagnostics.Metrics;

namespace Cluster.Bench;

/// <summary>
/// The inbox's own metrics, read in-process: a meter factory whose meters a listener follows, summing commits and
/// rows written.
/// </summary>
internal sealed class CommitStats : IMeterFactory
{
    private readonly MeterListener _listener = new();
    private readonly List<Meter> _meters = [];
    private long _commits;
    private long _rows;

    public CommitStats()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == this
                && instrument.Name is "cluster_inbox_commits_total" or "cluster_inbox_commit_batch_rows")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _commits, value));
        _listener.SetMeasurementEventCallback<int>((_, value, _, _) => Interlocked.Add(ref _rows, value));
        _listener.Start();
    }

    public (long Commits, long Rows) Snapshot() => (Interlocked.Read(ref _commits), Interlocked.Read(ref _rows));

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        _listener.Dispose();
        lock (_meters)
        {
            _meters.ForEach(meter => meter.Dispose());
        }
    }
}
