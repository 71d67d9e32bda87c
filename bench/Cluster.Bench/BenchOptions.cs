using System.Globalization;
using Cluster.Persistence;

namespace Cluster.Bench;

/// <summary>Command-line settings; every one has a default so that a bare run finishes in about two minutes.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        Cluster.Bench: the inbox's group commit against the raw commit rate of its database.

        Usage: dotnet run -c Release --project bench/Cluster.Bench -- [options]

          --stores sqlite,postgresql   stores to run (default: both; postgresql only when a server is given)
          --scenarios a,b,...          raw-insert, raw-cycle, append, append-empty, append-deep, ack (default: all)
          --duration SECONDS           measured time per scenario (default 5)
          --rounds N                   repeat every scenario N times, interleaved; report medians (default 1)
          --warmup SECONDS             unmeasured time before it (default 1)
          --concurrency N              concurrent callers in the inbox scenarios (default 256)
          --devices N                  devices the random scenarios spread over (default 10000)
          --envelope BYTES             envelope size (default 1024)
          --raw-batch N                rows per transaction in the raw scenarios (default 1024)
          --raw-writers N              connections writing at once in the raw scenarios (default: 1 for
                                       SQLite, which admits one writer; --pg-writers for PostgreSQL)
          --deep N                     rows already queued for the device in append-deep (default 100000)
          --max-batch N                InboxStoreOptions.MaxBatchRows (default 4096)
          --pg-writers N               InboxStoreOptions.PostgresWriters (default 2)
          --postgres CONNSTRING        admin connection string of a PostgreSQL server; a fresh database is
                                       created and dropped (default: $CLUSTER_BENCH_POSTGRES, then
                                       $CLUSTER_TEST_POSTGRES)
          --dir PATH                   where SQLite files go (default: a fresh temp directory)
          --sqlite-synchronous LEVEL   off, normal, full, extra (default full: durable, as the silo runs)
          --pages                      instead of the scenarios: count SQLite pages written and commits per
                                       envelope life (append + ack) and per swept envelope; no timing
          --page-devices N             devices in --pages (default 300: 100 accounts x 3)
          --page-rows N                envelopes appended and acked per device per round (default 4)
          --page-depth N               envelopes each device holds throughout (default 16)
          --page-rounds N              rounds counted (default 20)
          --page-batch N               devices whose appends (then acks) are committed together (default 16)
        """;

    public IReadOnlyList<StorageKind> Stores { get; private set; } = [StorageKind.Sqlite, StorageKind.PostgreSql];

    public IReadOnlyList<string> Scenarios { get; private set; } = [.. Scenario.Names];

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(5);

    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(1);

    public int Rounds { get; private set; } = 1;

    public int Concurrency { get; private set; } = 256;

    public int Devices { get; private set; } = 10_000;

    public int EnvelopeBytes { get; private set; } = 1024;

    public int RawBatch { get; private set; } = 1024;

    public int Deep { get; private set; } = 100_000;

    private int? rawWriters;

    /// <summary>Raw writers for the store being run: SQLite admits one writer at a time.</summary>
    public int RawWriters { get; private set; } = 1;

    public int MaxBatchRows { get; private set; } = 4096;

    public int PostgresWriters { get; private set; } = 2;

    public string? Postgres { get; private set; } =
        NullIfEmpty(Environment.GetEnvironmentVariable("CLUSTER_BENCH_POSTGRES"))
        ?? NullIfEmpty(Environment.GetEnvironmentVariable("CLUSTER_TEST_POSTGRES"));

    public string? Directory { get; private set; }

    public SqliteSynchronous SqliteSynchronous { get; private set; } = SqliteSynchronous.Full;

    public bool Pages { get; private set; }

    public int PageDevices { get; private set; } = 300;

    public int PageRows { get; private set; } = 4;

    public int PageDepth { get; private set; } = 16;

    public int PageRounds { get; private set; } = 20;

    public int PageBatch { get; private set; } = 16;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        var storesGiven = false;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                throw new UsageException(null);
            }

            if (name == "--pages")
            {
                options.Pages = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new UsageException($"{name} needs a value.");
            }

            var value = args[++i];
            switch (name)
            {
                case "--stores":
                    options.Stores = [.. List(value).Select(ParseStore)];
                    storesGiven = true;
                    break;
                case "--scenarios":
                    var unknown = List(value).Except(Scenario.Names).ToList();
                    if (unknown.Count > 0)
                    {
                        throw new UsageException($"Unknown scenario(s): {string.Join(", ", unknown)}.");
                    }

                    options.Scenarios = List(value);
                    break;
                case "--duration": options.Duration = TimeSpan.FromSeconds(Number(name, value, 1)); break;
                case "--rounds": options.Rounds = Number(name, value, 1); break;
                case "--warmup": options.Warmup = TimeSpan.FromSeconds(Number(name, value, 0)); break;
                case "--concurrency": options.Concurrency = Number(name, value, 1); break;
                case "--devices": options.Devices = Number(name, value, 1); break;
                case "--envelope": options.EnvelopeBytes = Number(name, value, 1); break;
                case "--raw-batch": options.RawBatch = Number(name, value, 1); break;
                case "--raw-writers": options.rawWriters = Number(name, value, 1); break;
                case "--deep": options.Deep = Number(name, value, 0); break;
                case "--max-batch": options.MaxBatchRows = Number(name, value, 1); break;
                case "--pg-writers": options.PostgresWriters = Number(name, value, 1); break;
                case "--postgres": options.Postgres = value; break;
                case "--dir": options.Directory = value; break;
                case "--page-devices": options.PageDevices = Number(name, value, 1); break;
                case "--page-rows": options.PageRows = Number(name, value, 1); break;
                case "--page-depth": options.PageDepth = Number(name, value, 0); break;
                case "--page-rounds": options.PageRounds = Number(name, value, 1); break;
                case "--page-batch": options.PageBatch = Number(name, value, 1); break;
                case "--sqlite-synchronous":
                    options.SqliteSynchronous = Enum.TryParse<SqliteSynchronous>(value, ignoreCase: true, out var level)
                        ? level
                        : throw new UsageException($"Unknown --sqlite-synchronous {value}.");
                    break;
                default: throw new UsageException($"Unknown option {name}.");
            }
        }

        if (!storesGiven && options.Postgres is null)
        {
            options.Stores = [StorageKind.Sqlite];
        }

        if (options.Stores.Contains(StorageKind.PostgreSql) && options.Postgres is null)
        {
            throw new UsageException("postgresql needs --postgres or $CLUSTER_BENCH_POSTGRES.");
        }

        return options;
    }

    /// <summary>Sets what depends on the store about to run.</summary>
    public void UseStore(StorageKind kind) => RawWriters = RawWritersOf(kind);

    public int RawWritersOf(StorageKind kind) =>
        kind == StorageKind.Sqlite ? rawWriters ?? 1 : rawWriters ?? PostgresWriters;

    private static string[] List(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static StorageKind ParseStore(string value) => value.ToLowerInvariant() switch
    {
        "sqlite" => StorageKind.Sqlite,
        "postgresql" or "postgres" or "pg" => StorageKind.PostgreSql,
        _ => throw new UsageException($"Unknown store {value}."),
    };

    private static int Number(string name, string value, int minimum) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= minimum
            ? number
            : throw new UsageException($"{name} must be a whole number of at least {minimum}.");

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

internal sealed class UsageException(string? detail) : Exception(detail ?? "Usage")
{
    /// <summary>What was wrong with the arguments; null when help was asked for.</summary>
    public string? Detail { get; } = detail;
}
