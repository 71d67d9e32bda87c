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
        builder.Services.AddHealthChecks()
            .AddCheck<SiloActiveHealthCheck>("silo", tags: [ReadyTag])
            .AddCheck<StorageHealthCheck>("storage", tags: [ReadyTag]);
        return builder;
    }

    public static IEndpointRouteBuilder MapClusterHealth(this IEndpointRouteBuilder app)
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
