using Cluster.Persistence;

namespace Cluster.Silo.Hosting;

/// <summary><c>Cluster.Silo migrate</c>: applies the schema to the configured database and exits.</summary>
internal static class MigrateCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var options = ClusterHostOptions.Load(configuration);
        var database = DatabaseEndpoint.From(options);
        if (database.SqliteFile is { } file)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
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
}
