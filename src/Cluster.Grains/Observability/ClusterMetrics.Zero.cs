using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Push;
using Cluster.Grains.Calls;

namespace Cluster.Grains.Observability;

/// <summary>
/// Metrics from the first second: the counters and gauges the shipped dashboard and alert rules read are exported at
/// zero, with each label set they take, before their first event, so <c>rate()</c> counts the first event and absence
/// alerts see a series (<c>FreshSiloMetricsTests</c> checks the first scrape). Histograms cannot be: OpenTelemetry
/// exports a histogram from its first observation.
/// </summary>
public static partial class ClusterMetrics
{
    /// <summary>
    /// Adds zero to each of those series. Called once the process's metrics exporter listens (an addition before it
    /// is lost); more than once is harmless.
    /// </summary>
    public static void StartAtZero()
    {
        AccountsRegistered.Add(0);
        LinkTokens.Add(0);
        DeviceListChanges.Add(0);
        var outcomes = Enum.GetNames<LinkStatus>().Concat(Enum.GetValues<AddDeviceStatus>().Where(s => s != AddDeviceStatus.Added).Select(s => s.ToString()));
        foreach (var outcome in outcomes.Distinct(StringComparer.Ordinal))
        {
            LinkAttempts.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        }

        MessagesReceived.Add(0);
        EnvelopesStored.Add(0);
        EnvelopesDelivered.Add(0);
        EnvelopesAcked.Add(0);
        EnvelopesDropped.Add(0);
        EnvelopesExpired.Add(0);

        PreKeyBundles.Add(0);
        PreKeysLow.Add(0);
        PreKeysExhausted.Add(0, new KeyValuePair<string, object?>("kind", "ec"));
        PreKeysExhausted.Add(0, new KeyValuePair<string, object?>("kind", "kem"));

        SocketsOpen.Add(0);
        SocketsReplaced.Add(0);

        PushCoalesced.Add(0);
        foreach (var kind in Enum.GetNames<PushKind>())
        {
            PushSent.Add(0, new KeyValuePair<string, object?>("kind", kind));
        }

        foreach (var reason in PushFailReasons)
        {
            PushFailed.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        foreach (var reason in PushDropReasons)
        {
            PushDropped.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        CallMetrics.StartAtZero();
    }
}
