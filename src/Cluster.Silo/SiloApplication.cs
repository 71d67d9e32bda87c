using Cluster.Silo.Accounts;
using Cluster.Silo.AppState;
using Cluster.Silo.Authentication;
using Cluster.Silo.Blobs;
using Cluster.Silo.Calls;
using Cluster.Silo.Devices;
using Cluster.Silo.Groups;
using Cluster.Silo.Health;
using Cluster.Silo.Hosting;
using Cluster.Silo.Keys;
using Cluster.Silo.Messaging;
using Cluster.Silo.Observability;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;
using Cluster.Silo.Provisioning;
using Cluster.Silo.Push;
using Cluster.Silo.RateLimiting;
using Cluster.Silo.Verification;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Cluster.Silo;

/// <summary>
/// Builds the silo process: Program and the tests go through here, so they run the same host. The composition root:
/// it only chains each feature's <c>AddX</c>/<c>MapX</c> (in the feature's <c>*Extensions.cs</c>) and the middleware,
/// and is the one file that names every feature (<c>docs/layout.md</c>).
/// </summary>
public static class SiloApplication
{
    /// <summary>
    /// Creates the host. <paramref name="configure"/> lets tests add configuration or replace services
    /// (a fake <see cref="TimeProvider"/>, for instance) before anything reads them.
    /// </summary>
    /// <exception cref="OptionsValidationException">A setting is invalid; the message names its key.</exception>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Configuration files are read once, at start (settings change by a restart, as in Kubernetes). The default,
        // reload on change, watches the whole content root recursively, and the embedded mode's SQLite files live under
        // it: every WAL write woke the watcher (13 % of the CPU at saturation, issue 16). An explicit
        // --hostBuilder:reloadConfigOnChange=true among the arguments still wins.
        var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
        configure?.Invoke(builder);
        builder.Services.TryAddKeyedSingleton(Cluster.Grains.ClusterClock.Key, TimeProvider.System);

        var options = ClusterHostOptions.Load(builder.Configuration);
        var database = DatabaseEndpoint.From(options);
        builder.AddClusterSilo(options, database)
            .AddClusterHealth()
            .AddClusterObservability()
            .AddClusterTracing()
            .AddDeviceAuthentication()
            .AddRateLimits()
            .AddVerification()
            .AddAccounts()
            .AddKeys()
            .AddDevices()
            .AddProvisioning().AddBlobs(database)
            .AddMessaging(database)
            .AddCalls()
            .AddPush()
            .AddAppState(database)
            .AddGroups();
        builder.AddClusterOpenApi();

        var app = builder.Build();
        app.UseClientFaultAnswers();
        app.UseClientAddresses();
        app.UseApiStatusBodies();
        app.UseTransientFaultAnswers();
        app.UseMessaging();
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapClusterHealth();
        app.MapClusterMetrics();
        app.MapClusterOpenApi(options);
        app.MapGroup("/v1").WithApiErrors()
            .MapVerification()
            .MapAccounts()
            .MapDevices()
            .MapKeys()
            .MapProvisioning().MapBlobs()
            .MapMessaging()
            .MapCalls()
            .MapPush()
            .MapAppState()
            .MapGroups();
        return app;
    }
}
