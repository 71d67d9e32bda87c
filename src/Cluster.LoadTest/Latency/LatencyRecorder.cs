using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace Cluster.LoadTest.Latency;

/// <summary>
/// One interval <see cref="Recorder"/> per operation (HdrHistogram, microseconds from 1 µs to one hour at three significant
/// digits), which <see cref="TakeIntervals"/> empties for the timeline; and, per operation, the whole run so far: the sum
/// of the intervals taken. The run's figures are therefore exactly the sum of the timeline's (a value recorded after the
/// last interval was taken is in neither), and a value is recorded once, not twice.
/// </summary>
internal sealed class LatencyRecorder
{
    private const long HighestMicroseconds = 3_600_000_000;

    private readonly ConcurrentDictionary<string, Recorder> intervals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HistogramBase> recycled = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LongHistogram> histograms = new(StringComparer.Ordinal);

    public void Record(string operation, long startTimestamp, long endTimestamp) =>
        Record(operation, Stopwatch.GetElapsedTime(startTimestamp, endTimestamp));

    /// <summary>Records one latency; any number of threads at once (a value out of range is clamped into it).</summary>
    public void Record(string operation, TimeSpan elapsed)
    {
        var micros = Math.Clamp((long)elapsed.TotalMicroseconds, 1, HighestMicroseconds);
        // The interval histograms must take concurrent writers: a plain LongHistogram loses increments under them and its
        // total then disagrees with its counts (GetValueAtPercentile throws ArgumentOutOfRangeException on such a one).
        intervals.GetOrAdd(operation, _ => new Recorder(1, HighestMicroseconds, 3, static (id, low, high, digits) => new LongConcurrentHistogram(id, low, high, digits)))
            .RecordValue(micros);
    }

    /// <summary>
    /// What each operation recorded since the previous call, which is also added to the run's totals (one caller at a
    /// time: the timeline's sampler). A histogram handed out is valid until the next call, which recycles it.
    /// </summary>
    public IReadOnlyList<(string Operation, HistogramBase Interval)> TakeIntervals()
    {
        var taken = new List<(string, HistogramBase)>();
        foreach (var (operation, recorder) in intervals.OrderBy(pair => Operations.Order(pair.Key)).ThenBy(pair => pair.Key, StringComparer.Ordinal))
        {
            var interval = recycled.TryGetValue(operation, out var old) ? recorder.GetIntervalHistogram(old) : recorder.GetIntervalHistogram();
            recycled[operation] = interval;
            if (!histograms.TryGetValue(operation, out var total))
            {
                histograms[operation] = total = new LongHistogram(1, HighestMicroseconds, 3);
            }

            total.Add(interval);
            taken.Add((operation, interval));
        }

        return taken;
    }

    /// <summary>Each operation's percentile distribution over the intervals taken: (percentile, milliseconds) points, for the curves.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double[]>> Curves() =>
        histograms.OrderBy(pair => Operations.Order(pair.Key)).ThenBy(pair => pair.Key, StringComparer.Ordinal)
            .ToDictionary(pair => pair.Key, pair => LatencySummary.Curve(pair.Value), StringComparer.Ordinal);

    public long Count(string operation) => histograms.TryGetValue(operation, out var histogram) ? histogram.TotalCount : 0;

    public IReadOnlyDictionary<string, LatencySummary> Summaries() =>
        histograms.OrderBy(pair => Operations.Order(pair.Key)).ThenBy(pair => pair.Key, StringComparer.Ordinal)
            .ToDictionary(pair => pair.Key, pair => LatencySummary.Of(pair.Value), StringComparer.Ordinal);
}

/// <summary>Percentiles of one operation, in milliseconds.</summary>
internal sealed record LatencySummary(long Count, double P50, double P90, double P95, double P99, double P999, double Max, double Mean)
{
    /// <summary>The most points a curve keeps: the distribution's iteration is thinned to this many, the tail kept.</summary>
    private const int MaxCurvePoints = 200;

    public static LatencySummary Of(HistogramBase histogram)
    {
        var copy = histogram.Copy();
        return OfSnapshot(copy);
    }

    /// <summary>The summary of a histogram no one records into any more (an interval histogram, a copy).</summary>
    public static LatencySummary OfSnapshot(HistogramBase copy)
    {
        if (copy.TotalCount == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0, 0, 0);
        }

        return new LatencySummary(
            copy.TotalCount,
            Ms(copy.GetValueAtPercentile(50)),
            Ms(copy.GetValueAtPercentile(90)),
            Ms(copy.GetValueAtPercentile(95)),
            Ms(copy.GetValueAtPercentile(99)),
            Ms(copy.GetValueAtPercentile(99.9)),
            Ms(copy.GetMaxValue()),
            Math.Round(copy.GetMean() / 1000, 3));
    }

    /// <summary>(percentile, milliseconds) pairs from 0 to 100, five steps per halving of the distance to 100 %.</summary>
    public static IReadOnlyList<double[]> Curve(HistogramBase histogram)
    {
        var copy = histogram.Copy();
        if (copy.TotalCount == 0)
        {
            return [];
        }

        var points = copy.Percentiles(5).Select(v => new[] { Math.Round(v.PercentileLevelIteratedTo, 6), Ms(v.ValueIteratedTo) }).ToList();
        if (points.Count > MaxCurvePoints)
        {
            var step = (double)points.Count / MaxCurvePoints;
            points = [.. Enumerable.Range(0, MaxCurvePoints - 1).Select(i => points[(int)(i * step)]), points[^1]];
        }

        return points;
    }

    private static double Ms(long micros) => Math.Round(micros / 1000.0, 3);
}

/// <summary>The operations the scenarios time, and the order the report lists them in.</summary>
internal static class Operations
{
    public const string Register = "register";
    public const string Connect = "connect";
    public const string Send = "send";
    public const string Deliver = "deliver";
    public const string Link = "link";
    public const string Unlink = "unlink";
    public const string CallStart = "call-start";
    public const string Ring = "ring";
    public const string Answer = "answer";
    public const string RingToAnswer = "ring-to-answer";

    private static readonly string[] Ordered = [Send, Deliver, CallStart, Ring, Answer, RingToAnswer, Link, Unlink, Connect, Register];

    public static int Order(string operation)
    {
        var index = Array.IndexOf(Ordered, operation);
        return index < 0 ? Ordered.Length : index;
    }
}
