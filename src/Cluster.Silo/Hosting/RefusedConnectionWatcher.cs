using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Cluster.Grains.Observability;

namespace Cluster.Silo.Hosting;

/// <summary>
/// Declares a silo dead at once when its process is demonstrably gone: a connection to it dropped, and its silo port
/// then refuses connections (<see cref="ClusterMembershipSettings.RefusedConnectionChecks"/> times in a row,
/// <see cref="ClusterMembershipSettings.RefusedConnectionCheckIntervalSeconds"/> apart). A killed process's ports close
/// with it, so its peers' connections drop and a new connection is refused (a TCP reset) within milliseconds; Orleans'
/// probes count such a refusal as one missed probe, like a timeout, and declare the silo dead only after
/// <c>MissedProbesLimit</c> probe periods (about 10 s with Orleans' defaults). A silo that is alive but paused (a long
/// GC, SIGSTOP, a starved machine) keeps its ports open and its connections up: it never gets here, and only the
/// probes, tuned to tolerate pauses, can declare it dead.
/// </summary>
/// <remarks>
/// The hint is Orleans' own connection diagnostics (the <c>Orleans.Connections</c> <see cref="DiagnosticListener"/>,
/// event <c>Terminated</c>). Its payload types are internal to Orleans, so the peer is read by name and, if that ever
/// fails, every active peer is checked instead. Only silos the membership shows as <c>Active</c> are declared dead: one
/// that is shutting down gracefully closes its ports as it leaves and says so itself.
/// </remarks>
internal sealed partial class RefusedConnectionWatcher(
    IClusterMembershipService membership,
    ILocalSiloDetails local,
    ClusterHostOptions options,
    ILogger<RefusedConnectionWatcher> logger) : BackgroundService, IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    private const string ListenerName = "Orleans.Connections";
    private const string TerminatedEvent = "Terminated";

    /// <summary>How long one check's connection attempt may take; a timeout proves nothing (a paused silo may not accept in time).</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(1);

    private readonly Channel<SiloAddress?> hints = Channel.CreateBounded<SiloAddress?>(
        new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private readonly ConcurrentDictionary<SiloAddress, byte> checking = new();
    private readonly List<IDisposable> subscriptions = [];
    private readonly Lock gate = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Membership.DeclareDeadOnRefusedConnection)
        {
            return;
        }

        lock (gate)
        {
            subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
        }

        try
        {
            await foreach (var hint in hints.Reader.ReadAllAsync(stoppingToken))
            {
                var snapshot = membership.CurrentSnapshot;
                foreach (var member in snapshot.Members.Values)
                {
                    if (member.Status == SiloStatus.Active && !member.SiloAddress.Equals(local.SiloAddress)
                        && (hint is null || hint.Equals(member.SiloAddress)) && checking.TryAdd(member.SiloAddress, 0))
                    {
                        _ = CheckAsync(member.SiloAddress, stoppingToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        lock (gate)
        {
            subscriptions.ForEach(s => s.Dispose());
            subscriptions.Clear();
        }

        base.Dispose();
    }

    /// <summary>Connects to the silo's port until it is accepted (alive: nothing to do) or refused every time (gone: declared dead).</summary>
    private async Task CheckAsync(SiloAddress silo, CancellationToken cancellationToken)
    {
        try
        {
            var settings = options.Membership;
            for (var attempt = 1; attempt <= settings.RefusedConnectionChecks; attempt++)
            {
                if (attempt > 1)
                {
                    await Task.Delay(TimeSpan.FromSeconds(settings.RefusedConnectionCheckIntervalSeconds), cancellationToken);
                }

                if (!await IsRefusedAsync(silo.Endpoint, cancellationToken))
                {
                    return;
                }
            }

            if (membership.CurrentSnapshot.GetSiloStatus(silo) != SiloStatus.Active)
            {
                return;
            }

            var killed = await membership.TryKill(silo);
            if (killed)
            {
                ClusterMetrics.SilosDeclaredDead.Add(1, ClusterMetrics.RefusedConnection);
            }

            LogDeclaredDead(silo, settings.RefusedConnectionChecks, killed);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or System.Data.Common.DbException)
        {
            // The membership table could not be written (the database is down): the probes remain.
            LogDeclareFailed(ex, silo);
        }
        finally
        {
            checking.TryRemove(silo, out _);
        }
    }

    /// <summary>Whether a TCP connection to <paramref name="endpoint"/> is refused now (a reset: nothing listens there).</summary>
    private static async Task<bool> IsRefusedAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token);
            return false;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode == SocketError.ConnectionRefused;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    void IObserver<DiagnosticListener>.OnNext(DiagnosticListener value)
    {
        if (value.Name != ListenerName)
        {
            return;
        }

        lock (gate)
        {
            subscriptions.Add(value.Subscribe(this, (name, _, _) => name == TerminatedEvent));
        }
    }

    void IObserver<KeyValuePair<string, object?>>.OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key == TerminatedEvent)
        {
            hints.Writer.TryWrite(PeerOf(value.Value));
        }
    }

    /// <summary>The silo at the other end of a terminated connection, or null (check every peer) when it cannot be read.</summary>
    private static SiloAddress? PeerOf(object? terminated)
    {
        try
        {
            var connection = terminated?.GetType().GetField("Connection")?.GetValue(terminated);
            return connection?.GetType().GetProperty("RemoteSiloAddress")?.GetValue(connection) as SiloAddress;
        }
        catch (Exception ex) when (ex is System.Reflection.TargetInvocationException or MemberAccessException or ArgumentException)
        {
            return null;
        }
    }

    void IObserver<DiagnosticListener>.OnCompleted()
    {
    }

    void IObserver<DiagnosticListener>.OnError(Exception error)
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnCompleted()
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnError(Exception error)
    {
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} dropped its connection and refused {Checks} new ones in a row: its process is gone; declared dead: {Killed}")]
    private partial void LogDeclaredDead(SiloAddress silo, int checks, bool killed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} refuses connections, but declaring it dead failed; Orleans' probes will")]
    private partial void LogDeclareFailed(Exception ex, SiloAddress silo);
}
