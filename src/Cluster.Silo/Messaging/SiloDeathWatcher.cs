namespace Cluster.Silo.Messaging;

/// <summary>
/// Watches the cluster's membership and, when a silo that was serving is declared dead, has every device socket on
/// this silo check its grain (<see cref="DeviceSockets.CheckAllSoon"/>). A device grain that lived on the dead silo is
/// reactivated elsewhere without its socket; without this, the socket would learn it only at its next keep-alive
/// check, and envelopes stored meanwhile would wait.
/// </summary>
internal sealed partial class SiloDeathWatcher(IClusterMembershipService membership, DeviceSockets sockets, ILogger<SiloDeathWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ClusterMembershipSnapshot? previous = null;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                if (previous is not null)
                {
                    foreach (var change in snapshot.CreateUpdate(previous).Changes)
                    {
                        // A silo that left gracefully had its grains deactivated, and each told its socket
                        // (IDeviceConnection.DetachedAsync); but a stop can run out of time, and a crash tells nobody.
                        // Rows first seen already dead (earlier generations) are not news.
                        if (change.Status == SiloStatus.Dead && previous.GetSiloStatus(change.SiloAddress) is not (SiloStatus.Dead or SiloStatus.None))
                        {
                            var checking = sockets.CheckAllSoon();
                            LogSiloDied(change.SiloAddress, checking);
                        }
                    }
                }

                previous = snapshot;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} was declared dead; {Sockets} device sockets here check their grains")]
    private partial void LogSiloDied(SiloAddress silo, int sockets);
}
