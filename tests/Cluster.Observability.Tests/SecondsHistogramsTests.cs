using System.Diagnostics.Metrics;
using Cluster.Silo.Observability;

namespace Cluster.Observability.Tests;

/// <summary>
/// The conversion behind <c>orleans_*_seconds</c>. The meters here have names of their own: the silo this project
/// runs converts the meters named like Orleans', process-wide.
/// </summary>
public sealed class SecondsHistogramsTests
{
    [Fact]
    public void Record_MillisecondHistogram_ArrivesInSecondsWithItsTags()
    {
        using var source = new Meter($"{nameof(SecondsHistogramsTests)}.Source.{Guid.NewGuid():N}");
        using var target = new Meter($"{nameof(SecondsHistogramsTests)}.Target.{Guid.NewGuid():N}");
        using var recorded = new Recorded(target);
        using var converter = new SecondsHistograms(source.Name, target);

        source.CreateHistogram<long>("op-latency", "ms").Record(1500, new KeyValuePair<string, object?>("kind", "read"));
        source.CreateHistogram<double>("op-wait", "ms", "Time spent waiting").Record(2.5);

        Measurement[] expected =
        [
            new("op-latency", "s", $"{source.Name} instrument op-latency, converted from milliseconds", 1.5, "kind=read"),
            new("op-wait", "s", "Time spent waiting (converted from milliseconds)", 0.0025, ""),
        ];
        Assert.Equal(expected, recorded.Measurements);
    }

    [Fact]
    public void Record_OtherInstruments_NotConverted()
    {
        using var source = new Meter($"{nameof(SecondsHistogramsTests)}.Source.{Guid.NewGuid():N}");
        using var other = new Meter($"{nameof(SecondsHistogramsTests)}.Other.{Guid.NewGuid():N}");
        using var target = new Meter($"{nameof(SecondsHistogramsTests)}.Target.{Guid.NewGuid():N}");
        using var recorded = new Recorded(target);
        using var converter = new SecondsHistograms(source.Name, target);

        source.CreateHistogram<long>("op-size", "By").Record(10);
        source.CreateCounter<long>("op-time", "ms").Add(10);
        other.CreateHistogram<long>("op-latency", "ms").Record(10);

        Assert.Empty(recorded.Measurements);
    }

    private sealed record Measurement(string Name, string Unit, string Description, double Value, string Tags);

    /// <summary>Every measurement on <paramref name="meter"/>'s instruments, in order.</summary>
    private sealed class Recorded : IDisposable
    {
        private readonly MeterListener listener = new();

        public Recorded(Meter meter)
        {
            listener.InstrumentPublished = (instrument, self) =>
            {
                if (instrument.Meter == meter)
                {
                    self.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Measurements.Add(new(
                instrument.Name, instrument.Unit ?? "", instrument.Description ?? "", value, string.Join(',', tags.ToArray().Select(t => $"{t.Key}={t.Value}")))));
            listener.Start();
        }

        public List<Measurement> Measurements { get; } = [];

        public void Dispose() => listener.Dispose();
    }
}
