using Cluster.Grains.Accounts;
using Cluster.Grains.Devices;
using Cluster.Grains.Messaging;
using Cluster.Persistence.Inbox;
using Cluster.Silo.Hosting;

namespace Cluster.Silo.Messaging;

/// <summary>The messaging feature's one wiring point: sending (over HTTP and the device socket), fetching, acks, the device socket and its shutdown, the sweepers.</summary>
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
        builder.Services.AddSingleton<MessageSends>();
        builder.Services.AddSingleton<SocketRequests>();
        builder.Services.AddSingleton<DeviceSockets>();
        builder.Services.AddSingleton<ObserverReferences>();
        builder.Services.AddSingleton<IShutdownStep, DeviceSocketsShutdown>();
        builder.Services.AddHostedService<SiloDeathWatcher>();
        builder.Services.AddPlacementDirector<SocketPlacement, SocketPlacementDirector>();
        builder.Services.AddHostedService<ExpirySweeper>();
        builder.Services.AddHostedService<ReceiptSweeper>();
        // Account deletion: the idempotency receipts of the account's sends and of sends to it.
        builder.Services.AddAccountDeletionStep<ISendReceiptStore>((receipts, account, cancel) => receipts.DeleteAccountReceiptsAsync(account, cancel));
        return builder;
    }

    public static WebApplication UseMessaging(this WebApplication app)
    {
        // Pings with a pong deadline drop a dead peer (every socket: device and provisioning) rather than keep it forever.
        var sockets = app.Services.GetRequiredService<IOptions<DeviceSocketOptions>>().Value;
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = sockets.PingInterval, KeepAliveTimeout = sockets.PingTimeout });
        return app;
    }

    public static IEndpointRouteBuilder MapMessaging(this IEndpointRouteBuilder v1)
    {
        MessageEndpoints.Map(v1);
        v1.Map("/websocket", (HttpContext context, DeviceSockets sockets) => sockets.AcceptAsync(context)).ExcludeFromDescription().RequireAuthorization();
        return v1;
    }
}
