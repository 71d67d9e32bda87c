using System.Diagnostics.Metrics;

namespace Cluster.Inbox.Tests;

/// <summary>
/// Meters of one test only: a <see cref="MeterListener"/> can tell them from those of tests running in parallel by
/// their <see cref="Meter.Scope"/>. Counts inbox commits and the largest batch.
/// </summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> meters = [];
    private readonly MeterListener listener = new();
    private long commits;
    private int largestBatch;

    public TestMeterFactory()
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
        listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
        {
            int seen;
            while (value > (seen = Volatile.Read(ref largestBatch))
                && Interlocked.CompareExchange(ref largestBatch, value, seen) != seen)
            {
            }
        });
        listener.Start();
    }

    /// <summary>Transactions committed by stores that use this factory.</summary>
    public long Commits => Interlocked.Read(ref commits);

    /// <summary>The most rows one commit wrote.</summary>
    public int LargestBatch => Volatile.Read(ref largestBatch);

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
