using System.Data.Common;
using Cluster.Silo.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Cluster.Silo.Health;

internal static class HealthExtensions
{
    private const string ReadyTag = "ready";

    public static WebApplicationBuilder AddClusterHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ShutdownDrain>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        builder.Services.AddHealthChecks()
            .AddCheck<SiloActiveHealthCheck>("silo", tags: [ReadyTag])
            .AddCheck<StorageHealthCheck>("storage", tags: [ReadyTag]);
        return builder;
    }

    public static WebApplication MapClusterHealth(this WebApplication app)
    {
        // Liveness is local on purpose: a database outage must not get every pod restarted.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }
}

/// <summary>Ready only while this silo is Active in the cluster and not shutting down.</summary>
internal sealed class SiloActiveHealthCheck(ISiloStatusOracle oracle, ShutdownDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (drain.IsStopping)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the silo is shutting down"));
        }

        var status = oracle.CurrentStatus;
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"the silo is {status}"));
    }
}

/// <summary>Ready only while the database answers a trivial query.</summary>
internal sealed class StorageHealthCheck(DatabaseEndpoint database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = database.CreateConnection();
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (DbException ex)
        {
            return HealthCheckResult.Unhealthy("storage does not answer", ex);
        }
    }
}

/// <summary>
/// Turns readiness off as soon as shutdown begins, keeps serving for <see cref="ClusterHostOptions.ShutdownDrainSeconds"/>
/// so that load balancers stop routing new clients here, then closes device sockets with 1001, all before the silo leaves.
/// </summary>
internal sealed class ShutdownDrain(
    ClusterHostOptions options,
    IHostApplicationLifetime lifetime,
    Cluster.Silo.Messaging.DeviceSockets sockets,
    [FromKeyedServices(Cluster.Grains.ClusterClock.Key)] TimeProvider time) : IHostedLifecycleService
{
    private volatile bool stopping;

    /// <summary>The host runs lifecycle services' StoppingAsync before it signals ApplicationStopping, so both count.</summary>
    public bool IsStopping => stopping || lifetime.ApplicationStopping.IsCancellationRequested;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        if (options.ShutdownDrainSeconds > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(options.ShutdownDrainSeconds), time, cancellationToken);
        }

        // Sockets go before the silo leaves, with 1001 so that clients reconnect to another silo at once.
        await sockets.CloseAllAsync(TimeSpan.FromSeconds(5));
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
