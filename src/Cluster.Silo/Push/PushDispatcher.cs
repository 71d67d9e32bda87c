using System.Diagnostics;
using System.Threading.Channels;
using Cluster.Abstractions.Push;
using Cluster.Grains;
using Cluster.Grains.Observability;
using Cluster.Grains.Push;

namespace Cluster.Silo.Push;

/// <summary>
/// This silo's bounded queue of wake-ups (<see cref="WebPushOptions.QueueCapacity"/>; past it a wake-up is dropped and
/// counted, never waited for) and its <see cref="WebPushOptions.Concurrency"/> workers, which send each through the
/// sender of its kind, retry transient failures with doubling delays up to <see cref="WebPushOptions.MaxAttempts"/>,
/// and on 404/410 remove the subscription through the device grain (only if it is still the same endpoint). Holds
/// only the queue; the decision to wake is the device grain's.
/// </summary>
internal sealed partial class PushDispatcher(
    IOptions<WebPushOptions> options,
    IEnumerable<IPushSender> senders,
    IGrainFactory grains,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<PushDispatcher> logger) : BackgroundService, IPushDispatcher
{
    private readonly Channel<(PushRequest Request, long QueuedAt)> queue = Channel.CreateBounded<(PushRequest, long)>(
        new BoundedChannelOptions(options.Value.QueueCapacity) { FullMode = BoundedChannelFullMode.Wait });

    private readonly Dictionary<PushKind, IPushSender> byKind = senders.ToDictionary(s => s.Kind);

    public bool TryEnqueue(PushRequest request)
    {
        if (queue.Writer.TryWrite((request, Stopwatch.GetTimestamp())))
        {
            return true;
        }

        ClusterMetrics.PushDropped.Add(1, new KeyValuePair<string, object?>("reason", "queue_full"));
        return false;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Value.Concurrency).Select(_ => WorkAsync(stoppingToken)));

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (request, queuedAt) in queue.Reader.ReadAllAsync(stoppingToken))
            {
                await SendAsync(request, queuedAt, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The silo stops: what is still queued is not sent (the device fetches on its next start anyway).
        }
    }

    private async Task SendAsync(PushRequest request, long queuedAt, CancellationToken stoppingToken)
    {
        if (!byKind.TryGetValue(request.Subscription.Kind, out var sender))
        {
            ClusterMetrics.PushDropped.Add(1, new KeyValuePair<string, object?>("reason", "kind_unavailable"));
            return;
        }

        var kind = new KeyValuePair<string, object?>("kind", request.Subscription.Kind.ToString());
        var delay = options.Value.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            PushOutcome outcome;
            try
            {
                outcome = await sender.SendAsync(request, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSendFailed(logger, ex, request.Subscription.Kind);
                outcome = PushOutcome.Failed;
            }

            ClusterMetrics.PushLatency.Record(Stopwatch.GetElapsedTime(queuedAt).TotalSeconds, kind);
            switch (outcome)
            {
                case PushOutcome.Sent:
                    ClusterMetrics.PushSent.Add(1, kind);
                    return;
                case PushOutcome.Gone:
                    ClusterMetrics.PushDropped.Add(1, new KeyValuePair<string, object?>("reason", "gone"));
                    await grains.GetGrain<IDevicePushGrain>(request.DeviceAddress).RemovePushSubscriptionAsync(request.Subscription.Endpoint);
                    return;
                case PushOutcome.Blocked:
                    ClusterMetrics.PushDropped.Add(1, new KeyValuePair<string, object?>("reason", "blocked_address"));
                    return;
                case PushOutcome.Transient when attempt < options.Value.MaxAttempts:
                    await Task.Delay(delay, time, stoppingToken);
                    delay *= 2;
                    continue;
                default:
                    ClusterMetrics.PushFailed.Add(1, new KeyValuePair<string, object?>("reason", outcome == PushOutcome.Transient ? "transient" : "rejected"));
                    return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending a {Kind} wake-up failed")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, PushKind kind);
}
