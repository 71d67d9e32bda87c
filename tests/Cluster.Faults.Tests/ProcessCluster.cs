using System.Diagnostics;
using Cluster.Testing;
using Npgsql;

namespace Cluster.Faults.Tests;

/// <summary>
/// N silo processes forming one cluster on one PostgreSQL database, with the short failure-detection settings the
/// fault tests run with.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    /// <summary>Orleans' <c>SiloStatus.Dead</c> as stored in the membership table.</summary>
    private const int DeadStatus = 6;

    /// <summary>How long a silo process may take to become ready on a busy 2-core machine.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Failure detection used by the tests: a killed silo is suspected after 2 × 1 s and one vote declares it dead.</summary>
    public static readonly IReadOnlyDictionary<string, string> FastFailureDetection = new Dictionary<string, string>
    {
        ["Cluster:Membership:ProbeTimeoutSeconds"] = "1",
        ["Cluster:Membership:MissedProbesLimit"] = "2",
        ["Cluster:Membership:VotesForDeathDeclaration"] = "1",
        ["Cluster:Membership:TableRefreshSeconds"] = "5",
        ["Cluster:ShutdownDrainSeconds"] = "1",
    };

    /// <summary>The silo's own failure detection (production defaults); only the drain is shortened, as in every fault test.</summary>
    public static readonly IReadOnlyDictionary<string, string> ProductionFailureDetection = new Dictionary<string, string>
    {
        ["Cluster:ShutdownDrainSeconds"] = "1",
    };

    private readonly string directory;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private ProcessCluster(string connectionString, string clusterId, string directory, IReadOnlyList<ProcessSilo> silos)
    {
        ConnectionString = connectionString;
        ClusterId = clusterId;
        this.directory = directory;
        Silos = silos;
    }

    public string ConnectionString { get; }

    /// <summary>Where the silos' logs are (kept after the test, for post-mortems).</summary>
    public string LogDirectory => directory;

    public string ClusterId { get; }

    public IReadOnlyList<ProcessSilo> Silos { get; }

    /// <summary>
    /// Starts <paramref name="count"/> silos at once and waits until every one is ready; <paramref name="settings"/> add
    /// to or override <paramref name="failureDetection"/> (default <see cref="FastFailureDetection"/>), and
    /// <paramref name="siloSettings"/> (given the 1-based index) those of one silo.
    /// </summary>
    public static async Task<ProcessCluster> StartAsync(
        string connectionString,
        int count,
        IReadOnlyDictionary<string, string>? settings = null,
        Func<int, IReadOnlyDictionary<string, string>>? siloSettings = null,
        IReadOnlyDictionary<string, string>? failureDetection = null)
    {
        var clusterId = "faults-" + Guid.NewGuid().ToString("N")[..8];
        var directory = Directory.CreateTempSubdirectory("cluster-faults-").FullName;
        var silos = Enumerable.Range(1, count)
            .Select(i => new ProcessSilo(i, connectionString, clusterId, directory, Merge(failureDetection ?? FastFailureDetection, settings, siloSettings?.Invoke(i))))
            .ToList();
        var cluster = new ProcessCluster(connectionString, clusterId, directory, silos);
        try
        {
            foreach (var silo in silos)
            {
                silo.Start();
            }

            await Task.WhenAll(silos.Select(cluster.WaitReadyAsync));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static Dictionary<string, string> Merge(params IReadOnlyDictionary<string, string>?[] layers)
    {
        var merged = new Dictionary<string, string>();
        foreach (var (key, value) in layers.SelectMany(layer => layer ?? new Dictionary<string, string>()))
        {
            merged[key] = value;
        }

        return merged;
    }

    /// <summary>Whether the silo answers <c>/health/ready</c> with 200 now.</summary>
    public async Task<bool> IsReadyAsync(ProcessSilo silo)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(silo.BaseAddress, "/health/ready"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits until the silo is ready; fails with its log if it exits or takes longer than <see cref="ReadyTimeout"/>.</summary>
    public async Task<TimeSpan> WaitReadyAsync(ProcessSilo silo)
    {
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(
            async () => !silo.IsRunning
                ? throw new InvalidOperationException($"silo {silo.Index} exited ({silo.ExitCode}) while starting:\n{silo.Tail()}")
                : await IsReadyAsync(silo),
            ReadyTimeout,
            () => $"silo {silo.Index} ready at {silo.BaseAddress}health/ready; log:\n{silo.Tail()}");
        return clock.Elapsed;
    }

    /// <summary>The sum of a metric's series on the silo's <c>/metrics</c> whose labels contain <paramref name="label"/> (e.g. <c>cause="grain_lost"</c>).</summary>
    public async Task<double> MetricAsync(ProcessSilo silo, string name, string? label = null)
    {
        var text = await http.GetStringAsync(new Uri(silo.BaseAddress, "/metrics"));
        return text.Split('\n')
            .Where(line => line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' ')
            .Where(line => label is null || line.Contains(label, StringComparison.Ordinal))
            .Sum(line => double.Parse(SampleValue(line, name), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The value of an exposition line <c>name{labels} value [timestamp]</c>.</summary>
    private static string SampleValue(string line, string name)
    {
        var rest = line[name.Length] == '{' ? line[(line.LastIndexOf('}') + 1)..] : line[name.Length..];
        return rest.Trim().Split(' ')[0];
    }

    /// <summary>The membership status of the newest generation on the silo's port (Orleans' SiloStatus numbers), or null.</summary>
    public async Task<int?> MembershipStatusAsync(ProcessSilo silo)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT status FROM orleans_membership WHERE deployment_id = @cluster AND port = @port ORDER BY generation DESC LIMIT 1",
            connection);
        command.Parameters.AddWithValue("cluster", ClusterId);
        command.Parameters.AddWithValue("port", silo.SiloPort);
        return await command.ExecuteScalarAsync() is int status ? status : null;
    }

    /// <summary>How many generations on the silo's port the membership table holds as Dead.</summary>
    public async Task<long> DeadGenerationsAsync(ProcessSilo silo)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM orleans_membership WHERE deployment_id = @cluster AND port = @port AND status = @dead",
            connection);
        command.Parameters.AddWithValue("cluster", ClusterId);
        command.Parameters.AddWithValue("port", silo.SiloPort);
        command.Parameters.AddWithValue("dead", DeadStatus);
        return await command.ExecuteScalarAsync() is long count ? count : 0;
    }

    /// <summary>Waits until the membership table says the silo's current generation is Dead; returns how long that took.</summary>
    public async Task<TimeSpan> WaitDeadAsync(ProcessSilo silo, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => await MembershipStatusAsync(silo) == DeadStatus, timeout, () => $"silo {silo.Index} declared Dead in the membership table");
        return clock.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Silos.Select(s => s.DisposeAsync().AsTask()));
        http.Dispose();
    }
}
