using System.Diagnostics.Metrics;
using Cluster.Grains.Observability;

namespace Cluster.Grains.Calls;

/// <summary>Call instruments, on the product's meter. Labels are low-cardinality: never a call, account or device id.</summary>
internal static class CallMetrics
{
    private static readonly Meter Meter = new(ClusterMetrics.MeterName);

    /// <summary>Calls that rang (one per <c>POST /v1/calls</c> answered 201).</summary>
    public static readonly Counter<long> Offers = Meter.CreateCounter<long>("cluster_call_offers_total", description: "Calls started (offers that rang the callee's devices)");

    /// <summary>Winning answers (a late answer, refused with 409, is not counted).</summary>
    public static readonly Counter<long> Answers = Meter.CreateCounter<long>("cluster_call_answers_total", description: "Calls answered");

    /// <summary>From the offer to the winning answer.</summary>
    public static readonly Histogram<double> SetupTime = Meter.CreateHistogram<double>(
        "cluster_call_setup_seconds", unit: "s", description: "From a call's offer to its answer",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60, 120] });

    /// <summary>Ended calls, labelled <c>reason</c> (rejected, hangup, timeout) and <c>answered</c> (true, false).</summary>
    public static readonly Counter<long> Ended = Meter.CreateCounter<long>("cluster_calls_ended_total", description: "Calls ended, by reason and whether they had been answered");

    /// <summary>Calls ringing now, counted by the silo that holds each call's activation.</summary>
    public static readonly UpDownCounter<long> Ringing = Meter.CreateUpDownCounter<long>("cluster_calls_ringing", unit: "{call}", description: "Calls ringing now on this silo");

    /// <summary>Exports the calls' counters and gauge at zero, with every label set they take (see <see cref="ClusterMetrics.StartAtZero"/>).</summary>
    internal static void StartAtZero()
    {
        Offers.Add(0);
        Answers.Add(0);
        Ringing.Add(0);
        foreach (var reason in Enum.GetValues<CallEndReason>().Where(r => r != CallEndReason.None).Select(CallGrain.ReasonName).Distinct())
        {
            Ended.Add(0, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("answered", "true"));
            Ended.Add(0, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("answered", "false"));
        }
    }
}
