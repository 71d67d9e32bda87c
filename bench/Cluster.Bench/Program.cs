using System.Globalization;
using System.Runtime.InteropServices;
using Cluster.Bench;
using Cluster.Persistence;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (UsageException ex)
{
    if (ex.Detail is { } detail)
    {
        Console.Error.WriteLine(detail);
    }

    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var ownDirectory = options.Directory is null;
var directory = options.Directory ?? Directory.CreateTempSubdirectory("cluster-bench-").FullName;
Directory.CreateDirectory(directory);
if (options.Pages)
{
    try
    {
        return await PageCount.RunAsync(options, directory);
    }
    finally
    {
        if (ownDirectory)
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

var runs = new List<Run>();
var versions = new List<string>();
try
{
    foreach (var kind in options.Stores)
    {
        versions.Add(await BenchDatabase.VersionAsync(kind, options));
    }

    // Rounds interleave the scenarios, so that a drift in the machine's load hits the raw limit and the inbox alike.
    for (var round = 1; round <= options.Rounds; round++)
    {
        foreach (var kind in options.Stores)
        {
            options.UseStore(kind);
            foreach (var scenario in Scenario.All.Where(s => options.Scenarios.Contains(s.Name)))
            {
                await using var database = await BenchDatabase.CreateAsync(kind, options, directory);
                Console.Error.WriteLine($"[{round}/{options.Rounds}] {database.StoreName} {scenario.Name}: {scenario.Description(options)}");
                var result = await scenario.RunAsync(database, options);
                Console.Error.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"    {result.Rate,8:F0} {result.Unit}  p50 {result.P50Ms:F1} ms  p99 {result.P99Ms:F1} ms  CPU {result.CpuMicrosecondsPerUnit:F1} µs/unit  rows/commit {Format(result.RowsPerCommit)}"));
                runs.Add(new Run(round, database.StoreName, scenario, result));
            }
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
    $"Settings: {options.Rounds} round(s) of {options.Duration.TotalSeconds:F0} s per scenario (after {options.Warmup.TotalSeconds:F0} s warm-up), envelope {options.EnvelopeBytes} B, {options.Concurrency} callers, raw batch {options.RawBatch} rows, inbox max batch {options.MaxBatchRows} rows, PostgreSQL writers {options.PostgresWriters} (raw: {options.RawWritersOf(StorageKind.PostgreSql)}), SQLite synchronous {options.SqliteSynchronous}"));
Console.WriteLine();
Console.WriteLine("Medians over the rounds; \"of raw\" is the median over the rounds of the ratio to the raw scenario of the same round.");
Console.WriteLine();
Console.WriteLine("| store | scenario | rate (min–max) | of raw | p50 ms | p99 ms | CPU µs/unit (this process) | rows/commit |");
Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
foreach (var group in runs.GroupBy(run => (run.Store, run.Scenario.Name)))
{
    var scenario = group.First().Scenario;
    var results = group.Select(run => run.Result).ToList();
    var ratios = group
        .Select(run => runs.FirstOrDefault(b => b.Round == run.Round && b.Store == run.Store && b.Scenario.Name == scenario.Baseline) is { } baseline
            ? run.Result.Rate / baseline.Result.Rate
            : (double?)null)
        .OfType<double>()
        .ToList();
    var rate = Median(results.Select(r => r.Rate));
    var range = results.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $" ({results.Min(r => r.Rate):F0}–{results.Max(r => r.Rate):F0})") : "";
    var ratio = ratios.Count == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"{Median(ratios):P0} of {scenario.Baseline}");
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"| {group.Key.Store} | {scenario.Name} | {rate:F0}{range} {results[0].Unit} | {ratio} | {Median(results.Select(r => r.P50Ms)):F1} | {Median(results.Select(r => r.P99Ms)):F1} | {Median(results.Select(r => r.CpuMicrosecondsPerUnit)):F1} | {Format(results.All(r => r.RowsPerCommit is null) ? null : Median(results.Select(r => r.RowsPerCommit ?? 0)))} |"));
}

return 0;

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

static string Format(double? value) => value?.ToString("F0", CultureInfo.InvariantCulture) ?? "-";

internal sealed record Run(int Round, string Store, Scenario Scenario, Measurement Result);
