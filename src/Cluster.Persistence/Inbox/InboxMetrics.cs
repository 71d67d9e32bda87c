using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// The inbox's instruments on the product meter. The only label is <c>store</c> (sqlite or postgresql): never a
/// device id.
/// </summary>
internal sealed class InboxMetrics
{
    /// <summary>The product's meter name, exported by the silo at <c>/metrics</c>.</summary>
    public const string MeterName = "Cluster";

    private static readonly Meter SharedMeter = new(MeterName);

    private readonly KeyValuePair<string, object?> store;
    private readonly Histogram<int> batchRows;
    private readonly Histogram<double> duration;
    private readonly Counter<long> commits;
    private readonly Counter<long> failures;

    public InboxMetrics(string store, IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(new MeterOptions(MeterName)) ?? SharedMeter;
        this.store = new KeyValuePair<string, object?>("store", store);
        batchRows = meter.CreateHistogram<int>(
            "cluster_inbox_commit_batch_rows",
            unit: "{row}",
            description: "Rows (envelopes appended plus ids deleted) written by one inbox commit",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192] });
        duration = meter.CreateHistogram<double>(
            "cluster_inbox_commit_duration_seconds",
            unit: "s",
            description: "Time from the start of an inbox transaction to its commit",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] });
        commits = meter.CreateCounter<long>(
            "cluster_inbox_commits_total", description: "Inbox transactions committed");
        failures = meter.CreateCounter<long>(
            "cluster_inbox_commit_failures_total", description: "Inbox transactions that failed and were rolled back");

        // At zero from the start (the store is made once the metrics exporter listens): rate() counts the first commit.
        commits.Add(0, this.store);
        failures.Add(0, this.store);
    }

    public void Committed(int rows, long startTimestamp)
    {
        commits.Add(1, store);
        batchRows.Record(rows, store);
        duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, store);
    }

    public void Failed() => failures.Add(1, store);

    /// <summary>The engine's name (sqlite or postgresql), the label of every instrument here.</summary>
    public string Store => (string)store.Value!;
}
