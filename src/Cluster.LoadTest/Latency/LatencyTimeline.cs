using System.Text;
using Cluster.LoadTest.Progress;
using HdrHistogram;

namespace Cluster.LoadTest.Latency;

/// <summary>
/// The run over time: every <c>--interval</c> it takes each operation's interval histogram, keeps its percentiles and
/// rate as one <see cref="TimelinePoint"/> and appends it to an HdrHistogram interval log (values in microseconds,
/// tagged with the operation), and counts the errors of the interval. One sampler at a time.
/// </summary>
internal sealed class LatencyTimeline : IDisposable
{
    private readonly LatencyRecorder latencies;
    private readonly RunStatus status;
    private readonly TimeProvider time;
    private readonly DateTimeOffset startedAt;
    private readonly MemoryStream log = new();
    private readonly HistogramLogWriter writer;
    private readonly List<TimelinePoint> points = [];
    private readonly List<double[]> errors = [];
    private DateTimeOffset last;
    private long lastErrorCount;

    public LatencyTimeline(LatencyRecorder latencies, RunStatus status, TimeProvider time)
    {
        this.latencies = latencies;
        this.status = status;
        this.time = time;
        startedAt = last = time.GetUtcNow();
        writer = new HistogramLogWriter(log);
        writer.Write(startedAt.UtcDateTime); // the header: format version, start time, legend
    }

    public IReadOnlyList<TimelinePoint> Points => points;

    /// <summary>(seconds since the start, errors per second in the interval ending then).</summary>
    public IReadOnlyList<double[]> Errors => errors;

    /// <summary>Samples every <paramref name="interval"/> until <paramref name="cancellationToken"/> fires, then once more.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Sample();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        Sample();
    }

    /// <summary>Closes the interval that ends now.</summary>
    public void Sample()
    {
        var now = time.GetUtcNow();
        var seconds = (now - last).TotalSeconds;
        if (seconds <= 0)
        {
            return;
        }

        var at = Math.Round((now - startedAt).TotalSeconds, 3);
        foreach (var (operation, interval) in latencies.TakeIntervals())
        {
            var summary = LatencySummary.OfSnapshot(interval);
            points.Add(new TimelinePoint(at, operation, summary.Count, Math.Round(summary.Count / seconds, 1), summary.P50, summary.P95, summary.P99, summary.Max));
            if (interval.TotalCount > 0)
            {
                interval.StartTimeStamp = last.ToUnixTimeMilliseconds();
                interval.EndTimeStamp = now.ToUnixTimeMilliseconds();
                interval.Tag = operation;
                writer.Append(interval);
            }
        }

        var errorCount = status.ErrorCount;
        errors.Add([at, Math.Round((errorCount - lastErrorCount) / seconds, 1)]);
        lastErrorCount = errorCount;
        last = now;
    }

    /// <summary>
    /// The interval log in HdrHistogram's text format (one line per operation and interval: <c>Tag=operation,start,length,
    /// max,compressed histogram</c>; values in microseconds), as ASCII: the library writes UTF-16, the tools read ASCII.
    /// </summary>
    public string IntervalLog() => Encoding.Unicode.GetString(log.GetBuffer(), 0, (int)log.Length).TrimStart('\uFEFF');

    public void Dispose()
    {
        writer.Dispose();
        log.Dispose();
    }
}

/// <summary>One operation in one interval: how many ended, their rate, and their latency percentiles in milliseconds.</summary>
internal sealed record TimelinePoint(double Seconds, string Operation, long Count, double PerSecond, double P50, double P95, double P99, double Max);
