using Cluster.Persistence;

namespace Cluster.Silo.Hosting;

/// <summary>
/// <c>Cluster.Silo migrate</c>: applies the schema to the configured database and exits.
/// <c>Cluster.Silo migrate --wait</c>: changes nothing, waits until someone else (the migration Job) has brought the
/// schema up to this build's, then exits 0; a silo pod runs it as an init container so that the silo starts after the Job.
/// </summary>
internal static class MigrateCommand
{
    private const string WaitFlag = "--wait";
    private static readonly TimeSpan WaitPollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan WaitReportInterval = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(string[] args)
    {
        var wait = args.Contains(WaitFlag, StringComparer.Ordinal);
        var configuration = new ConfigurationBuilder()
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args.Where(a => a != WaitFlag).ToArray())
            .Build();
        var options = ClusterHostOptions.Load(configuration);
        var database = DatabaseEndpoint.From(options);
        if (database.SqliteFile is { } file)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        }

        if (wait)
        {
            await WaitForSchemaAsync(database);
            return 0;
        }

        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var report = await SchemaMigrator.MigrateAsync(database.Kind, database.ConnectionString, cancel.Token);
        foreach (var version in report.Applied)
        {
            Console.WriteLine($"applied {version}");
        }

        Console.WriteLine($"schema current on {options.StorageMode}: {report.Applied.Count} applied, {report.AlreadyApplied.Count} already applied");
        return 0;
    }

    /// <summary>
    /// Polls until no migration is pending, for as long as it takes: a database that does not answer yet, or a Job that
    /// has not run yet, is what this waits for. Kubernetes' rollout deadline, not this loop, decides when to give up.
    /// </summary>
    private static async Task WaitForSchemaAsync(DatabaseEndpoint database)
    {
        var lastReport = DateTimeOffset.MinValue;
        string? lastState = null;
        while (true)
        {
            string state;
            try
            {
                using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var pending = await SchemaMigrator.GetPendingAsync(database.Kind, database.ConnectionString, cancel.Token);
                if (pending.Count == 0)
                {
                    Console.WriteLine("schema current");
                    return;
                }

                state = $"waiting for migrations {string.Join(", ", pending)}: run `Cluster.Silo migrate` (the migration Job)";
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException)
            {
                // Never the connection string: it may hold a password.
                state = $"waiting for the database to answer ({ex.GetType().Name}: {ex.Message})";
            }

            var now = DateTimeOffset.UtcNow;
            if (state != lastState || now - lastReport >= WaitReportInterval)
            {
                Console.WriteLine(state);
                lastState = state;
                lastReport = now;
            }

            await Task.Delay(WaitPollInterval);
        }
    }
}
