using System.Globalization;
using System.Runtime.InteropServices;
using Cluster.Bench;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (UsageException ex)
{
    if (ex.Message is { Length: > 0 } message && ex.Message != new UsageException(null).Message)
    {
        Console.Error.WriteLine(message);
    }

    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var ownDirectory = options.Directory is null;
var directory = options.Directory ?? Directory.CreateTempSubdirectory("cluster-bench-").FullName;
Directory.CreateDirectory(directory);
var results = new List<(string Store, Scenario Scenario, Measurement Result)>();
var versions = new List<string>();
try
{
    foreach (var kind in options.Stores)
    {
        versions.Add(await BenchDatabase.VersionAsync(kind, options));
        foreach (var scenario in Scenario.All.Where(s => options.Scenarios.Contains(s.Name)))
        {
            await using var database = await BenchDatabase.CreateAsync(kind, options, directory);
            Console.Error.WriteLine($"{database.StoreName} {scenario.Name}: {scenario.Description(options)}");
            var result = await scenario.RunAsync(database, options);
            Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"  {result.Rate,10:F0} {result.Unit}  p50 {result.P50Ms:F2} ms  p99 {result.P99Ms:F2} ms  cpu {result.CpuMicrosecondsPerUnit:F1} µs/unit  rows/commit {result.RowsPerCommit?.ToString("F0", CultureInfo.InvariantCulture) ?? "-"}"));
            results.Add((database.StoreName, scenario, result));
        }
    }
}
finally
{
    if (ownDirectory)
    {
        Directory.Delete(directory, recursive: true);
    }
}

Console.WriteLine();
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"Machine: {Environment.ProcessorCount} CPUs, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; {string.Join("; ", versions)}"));
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"Settings: duration {options.Duration.TotalSeconds:F0} s (after {options.Warmup.TotalSeconds:F0} s warm-up), envelope {options.EnvelopeBytes} B, concurrency {options.Concurrency}, raw batch {options.RawBatch}, inbox max batch {options.MaxBatchRows}, PostgreSQL writers {options.PostgresWriters}, SQLite synchronous {options.SqliteSynchronous}"));
Console.WriteLine();
Console.WriteLine("| store | scenario | rate | of raw | p50 ms | p99 ms | CPU µs/unit (this process) | rows/commit |");
Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
foreach (var (store, scenario, result) in results)
{
    var baseline = results.FirstOrDefault(r => r.Store == store && r.Scenario.Name == scenario.Baseline).Result;
    var ratio = baseline is null ? "" : string.Create(CultureInfo.InvariantCulture, $"{result.Rate / baseline.Rate:P0} of {scenario.Baseline}");
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"| {store} | {scenario.Name} | {result.Rate:F0} {result.Unit} | {ratio} | {result.P50Ms:F2} | {result.P99Ms:F2} | {result.CpuMicrosecondsPerUnit:F1} | {result.RowsPerCommit?.ToString("F0", CultureInfo.InvariantCulture) ?? "-"} |"));
}

return 0;
