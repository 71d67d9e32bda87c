using Cluster.Grains;
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
        builder.Services.AddInboxStore(database.Kind, database.ConnectionString, database.SqliteDataSource);
        builder.Services.AddSingleton<MessageSender>();
        builder.Services.AddSingleton<DeviceSockets>();
        builder.Services.AddHostedService<ExpirySweeper>();
        return builder;
    }

    public static WebApplication UseMessaging(this WebApplication app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        return app;
    }
}

/// <summary>Deletes expired envelopes on a fixed interval; every silo sweeps, which is harmless (deletes are idempotent).</summary>
internal sealed partial class ExpirySweeper(
    IInboxStore store,
    IOptions<MessagingOptions> options,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<ExpirySweeper> logger) : BackgroundService
{
    private const int BatchSize = 10_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.ExpirySweepInterval, time, stoppingToken);
                await SweepAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (System.Data.Common.DbException ex)
            {
                LogSweepFailed(ex);
            }
        }
    }

    /// <summary>Deletes everything expired now, in batches.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await store.DeleteExpiredAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), BatchSize, cancellationToken);
            total += deleted;
            ClusterMetrics.EnvelopesExpired.Add(deleted);
        }
        while (deleted == BatchSize);
        return total;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting expired envelopes failed; retrying at the next sweep")]
    private partial void LogSweepFailed(Exception ex);
}
