using Cluster.Persistence;

namespace Cluster.Silo.Hosting;

/// <summary>
/// Cluster mode: the silo never changes the schema itself (SREs run <c>migrate</c> as a Job), but it refuses to start
/// on a database that lacks migrations, with a message that says what to do instead of a provider's stack trace.
/// </summary>
internal sealed class SchemaCheck(DatabaseEndpoint database) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var pending = await SchemaMigrator.GetPendingAsync(database.Kind, database.ConnectionString, cancellationToken);
        if (pending.Count > 0)
        {
            throw new SchemaNotCurrentException(
                $"the database lacks migrations {string.Join(", ", pending)}; run `Cluster.Silo migrate` with the same Cluster:* settings first");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The configured database is not at the schema this silo needs.</summary>
public sealed class SchemaNotCurrentException(string message) : Exception(message);
