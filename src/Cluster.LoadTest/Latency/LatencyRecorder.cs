using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace Cluster.LoadTest.Latency;

/// <summary>One HdrHistogram per operation, in microseconds from 1 µs to one hour at three significant digits.</summary>
internal sealed class LatencyRecorder
{
    private const long HighestMicroseconds = 3_600_000_000;

    private readonly ConcurrentDictionary<string, LongConcurrentHistogram> histograms = new(StringComparer.Ordinal);

    public void Record(string operation, long startTimestamp, long endTimestamp) =>
        Record(operation, Stopwatch.GetElapsedTime(startTimestamp, endTimestamp));

    public void Record(string operation, TimeSpan elapsed)
    {
        var micros = Math.Clamp((long)elapsed.TotalMicroseconds, 1, HighestMicroseconds);
        histograms.GetOrAdd(operation, _ => new LongConcurrentHistogram(1, HighestMicroseconds, 3)).RecordValue(micros);
    }

    public long Count(string operation) => histograms.TryGetValue(operation, out var histogram) ? histogram.TotalCount : 0;

    public IReadOnlyDictionary<string, LatencySummary> Summaries() =>
        histograms.OrderBy(pair => Operations.Order(pair.Key)).ThenBy(pair => pair.Key, StringComparer.Ordinal)
            .ToDictionary(pair => pair.Key, pair => LatencySummary.Of(pair.Value), StringComparer.Ordinal);
}

/// <summary>Percentiles of one operation, in milliseconds.</summary>
internal sealed record LatencySummary(long Count, double P50, double P90, double P99, double P999, double Max, double Mean)
{
    public static LatencySummary Of(HistogramBase histogram)
    {
        var copy = histogram.Copy();
        if (copy.TotalCount == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0, 0);
        }

        return new LatencySummary(
            copy.TotalCount,
            Ms(copy.GetValueAtPercentile(50)),
            Ms(copy.GetValueAtPercentile(90)),
            Ms(copy.GetValueAtPercentile(99)),
            Ms(copy.GetValueAtPercentile(99.9)),
            Ms(copy.GetMaxValue()),
            Math.Round(copy.GetMean() / 1000, 3));
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
