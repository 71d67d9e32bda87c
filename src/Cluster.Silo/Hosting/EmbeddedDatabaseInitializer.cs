using Cluster.Persistence;

namespace Cluster.Silo.Hosting;

/// <summary>
/// Embedded mode: takes the database file's lock (both processes would own every grain otherwise) and applies the
/// schema before the silo starts.
/// </summary>
internal sealed partial class EmbeddedDatabaseInitializer(DatabaseEndpoint database, ILogger<EmbeddedDatabaseInitializer> logger)
    : IHostedService, IDisposable
{
    private SqliteFileLock? fileLock;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var file = database.SqliteFile!;
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        fileLock = SqliteFileLock.Acquire(file);
        var report = await SchemaMigrator.MigrateAsync(database.Kind, database.ConnectionString, cancellationToken);
        LogMigrated(file, report.Applied.Count, report.AlreadyApplied.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => fileLock?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded database {File}: {Applied} migrations applied, {Current} already current")]
    private partial void LogMigrated(string file, int applied, int current);
}
