using System.Diagnostics.Metrics;
using System.Numerics;

namespace Cluster.Silo.Observability;

/// <summary>
/// Re-records every millisecond histogram of one meter as a histogram in seconds, under the same instrument name, on
/// another meter. Orleans records its durations in milliseconds, and an OpenTelemetry view can rename an instrument
/// but not scale its values: exported as they come, the names end in <c>_milliseconds</c>, which Prometheus'
/// conventions reject (base units only), and a view that renamed them <c>_seconds</c> would lie by a factor of 1000.
/// </summary>
internal sealed class SecondsHistograms : IDisposable
{
    /// <summary>OpenTelemetry's default boundaries, which suit milliseconds, in seconds: the resolution stays the same.</summary>
    private static readonly InstrumentAdvice<double> Buckets = new()
    {
        HistogramBucketBoundaries = [0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    };

    private readonly MeterListener listener = new();

    /// <summary>Converts the millisecond histograms of the meters named <paramref name="sourceMeterName"/>, those published already and those to come.</summary>
    public SecondsHistograms(string sourceMeterName, Meter target)
    {
        listener.InstrumentPublished = (instrument, self) =>
        {
            if (instrument.Meter.Name == sourceMeterName && IsMillisecondHistogram(instrument))
            {
                var description = string.IsNullOrEmpty(instrument.Description)
                    ? $"{instrument.Meter.Name} instrument {instrument.Name}, converted from milliseconds"
                    : $"{instrument.Description} (converted from milliseconds)";
                self.EnableMeasurementEvents(instrument, target.CreateHistogram<double>(instrument.Name, "s", description, advice: Buckets));
            }
        };
        Convert<byte>();
        Convert<short>();
        Convert<int>();
        Convert<long>();
        Convert<float>();
        Convert<double>();
        Convert<decimal>();
        listener.Start();
    }

    public void Dispose() => listener.Dispose();

    private static bool IsMillisecondHistogram(Instrument instrument) =>
        instrument.Unit == "ms" && instrument.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(Histogram<>);

    private void Convert<T>()
        where T : struct, INumber<T> =>
        listener.SetMeasurementEventCallback<T>((_, milliseconds, tags, seconds) =>
            ((Histogram<double>)seconds!).Record(double.CreateTruncating(milliseconds) / 1000, tags));
}
