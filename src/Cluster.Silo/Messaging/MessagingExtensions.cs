using Cluster.Grains;
using Cluster.Grains.Devices;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;
using Cluster.Silo.Hosting;

namespace Cluster.Silo.Messaging;

internal static class MessagingExtensions
{
    public static WebApplicationBuilder AddMessaging(this WebApplicationBuilder builder, DatabaseEndpoint database)
    {
        builder.Services.AddOptions<MessagingOptions>().BindConfiguration(MessagingOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<DeviceSocketOptions>().BindConfiguration(DeviceSocketOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DeviceSocketOptions>, DeviceSocketOptionsValidator>();
        builder.Services.AddInboxStore(database.Kind, database.ConnectionString, database.SqliteDataSource);
        builder.Services.AddSingleton<MessageSender>();
        builder.Services.AddSingleton<DeviceSockets>();
        builder.Services.AddHostedService<SiloDeathWatcher>();
        builder.Services.AddPlacementDirector<SocketPlacement, SocketPlacementDirector>();
        builder.Services.AddHostedService<ExpirySweeper>();
        builder.Services.AddHostedService<ReceiptSweeper>();
        return builder;
    }

    public static WebApplication UseMessaging(this WebApplication app)
    {
        // Pings with a pong deadline drop a dead peer (every socket: device and provisioning) rather than keep it forever.
        var sockets = app.Services.GetRequiredService<IOptions<DeviceSocketOptions>>().Value;
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = sockets.PingInterval, KeepAliveTimeout = sockets.PingTimeout });
        return app;
    }
}

/// <summary>Deletes expired envelopes from every inbox.</summary>
internal sealed class ExpirySweeper(
    IInboxStore store,
    IOptions<MessagingOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<ExpirySweeper> logger) : PeriodicSweeper(time, logger)
{
    protected override string What => "envelopes";

    protected override TimeSpan Interval => options.Value.ExpirySweepInterval;

    protected override int BatchSize => 10_000;

    protected override async Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteExpiredAsync(now, limit, cancellationToken);
        ClusterMetrics.EnvelopesExpired.Add(deleted);
        return deleted;
    }
}

/// <summary>Deletes idempotency receipts past their window (<see cref="MessagingOptions.IdempotencyWindow"/>).</summary>
internal sealed class ReceiptSweeper(
    ISendReceiptStore store,
    IOptions<MessagingOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<ReceiptSweeper> logger) : PeriodicSweeper(time, logger)
{
    protected override string What => "idempotency receipts";

    protected override TimeSpan Interval => options.Value.ExpirySweepInterval;

    protected override int BatchSize => 10_000;

    protected override async Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteExpiredReceiptsAsync(now, limit, cancellationToken);
        ClusterMetrics.ReceiptsExpired.Add(deleted);
        return deleted;
    }
}
