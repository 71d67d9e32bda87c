using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace Cluster.Silo.Observability;

/// <summary>
/// The one view over the instruments this project does not define, so that everything at <c>/metrics</c> follows
/// Prometheus' conventions (<c>promtool check metrics</c> reports nothing). One view, because every view that matches
/// an instrument makes a stream of its own.
/// </summary>
internal static class PrometheusConventions
{
    public const string OrleansMeterName = "Microsoft.Orleans";

    /// <summary>The meter <see cref="SecondsHistograms"/> re-records Orleans' millisecond histograms on.</summary>
    public const string OrleansSecondsMeterName = "Cluster.Orleans";

    private const string RuntimeMeterName = "System.Runtime";

    /// <summary>Runtime gauges whose names end in <c>_count</c>, which Prometheus reserves for a histogram's or summary's count.</summary>
    private static readonly Dictionary<string, string> RuntimeNames = new(StringComparer.Ordinal)
    {
        ["dotnet.assembly.count"] = "dotnet.assemblies.loaded",
        ["dotnet.process.cpu.count"] = "dotnet.process.cpus",
        ["dotnet.timer.count"] = "dotnet.timers.active",
    };

    public static MetricStreamConfiguration? View(Instrument instrument) => instrument.Meter.Name switch
    {
        OrleansMeterName => Orleans(instrument),
        RuntimeMeterName when RuntimeNames.TryGetValue(instrument.Name, out var name) => new MetricStreamConfiguration { Name = name },
        _ => null,
    };

    /// <summary>
    /// Orleans gives most instruments no description, and records durations in milliseconds and memory in megabytes.
    /// Millisecond histograms are exported in seconds by <see cref="SecondsHistograms"/> instead; any other instrument
    /// in a unit that is not a base unit is dropped, since its values cannot be scaled here (in Orleans 10 that is the
    /// two memory gauges, which the runtime's <c>dotnet_*</c> series cover).
    /// </summary>
    private static MetricStreamConfiguration? Orleans(Instrument instrument)
    {
        if (!IsBaseUnit(instrument.Unit))
        {
            return MetricStreamConfiguration.Drop;
        }

        return string.IsNullOrEmpty(instrument.Description)
            ? new MetricStreamConfiguration { Description = $"{instrument.Meter.Name} instrument {instrument.Name}; Orleans gives it no description" }
            : null;
    }

    private static bool IsBaseUnit(string? unit) =>
        string.IsNullOrEmpty(unit) || unit is "s" or "seconds" or "By" or "bytes" || unit.StartsWith('{');
}
