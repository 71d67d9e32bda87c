using System.Diagnostics.Metrics;

namespace Cluster.Bench;

/// <summary>
/// The inbox's own metrics, read in-process: a meter factory whose meters a listener follows, summing commits and
/// rows written.
/// </summary>
internal sealed class CommitStats : IMeterFactory
{
    private readonly MeterListener listener = new();
    private readonly List<Meter> meters = [];
    private long commits;
    private long rows;

    public CommitStats()
    {
        listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == this
                && instrument.Name is "cluster_inbox_commits_total" or "cluster_inbox_commit_batch_rows")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref commits, value));
        listener.SetMeasurementEventCallback<int>((_, value, _, _) => Interlocked.Add(ref rows, value));
        listener.Start();
    }

    public (long Commits, long Rows) Snapshot() => (Interlocked.Read(ref commits), Interlocked.Read(ref rows));

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (meters)
        {
            meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        listener.Dispose();
        lock (meters)
        {
            meters.ForEach(meter => meter.Dispose());
        }
    }
}
