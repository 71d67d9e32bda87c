using System.Diagnostics;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Reporting;

namespace Cluster.LoadTest.Accounting;

/// <summary>
/// The phases every scenario that accounts for envelopes shares (fanout, link-churn, group-fanout): every device made
/// known to the accountant and connected before the load, and the drain after it. Owns nothing.
/// </summary>
internal static class AccountedRun
{
    /// <summary>Makes every device of <paramref name="population"/> known to <paramref name="accountant"/> and connects it; the setup's result.</summary>
    public static async Task<SetupResult> ConnectAllAsync(
        RunContext run, Population population, Accountant accountant, IDeviceListener listener, CancellationToken cancellationToken)
    {
        foreach (var device in population.Devices)
        {
            accountant.Known(device.Key);
        }

        var connectStarted = Stopwatch.GetTimestamp();
        run.Status.Phase = "connecting";
        var connectFailures = await population.ConnectAsync(
            population.Devices, listener, run.Options.ConnectConcurrency ?? 64, TimeSpan.FromSeconds(60), cancellationToken);
        return SetupResult.Of(population, connectFailures, Stopwatch.GetElapsedTime(connectStarted));
    }

    /// <summary>Waits up to <c>--drain</c> for every promised copy; whether all came, and how long it took.</summary>
    public static async Task<(bool Drained, TimeSpan Time)> DrainAsync(RunContext run, Accountant accountant, CancellationToken cancellationToken)
    {
        run.Status.Phase = "drain";
        var drainStarted = Stopwatch.GetTimestamp();
        var drained = await accountant.WaitDrainedAsync(run.Options.Drain, cancellationToken);
        return (drained, Stopwatch.GetElapsedTime(drainStarted));
    }
}
