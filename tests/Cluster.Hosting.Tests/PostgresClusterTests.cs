using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Abstractions.Accounts;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Runtime;

namespace Cluster.Hosting.Tests;

/// <summary>
/// Cluster mode: silos in this process on one fresh PostgreSQL database each test. Skipped, with the reason, when
/// <see cref="PostgresDatabase.AdminConnectionStringVariable"/> names no server.
/// </summary>
public sealed class PostgresClusterTests
{
    // Orleans' default TableRefreshTimeout is 60 s: a silo that missed the gossip about a change still sees it by then.
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(90);

    private const int MaxRegistrations = 40;

    private const string ServiceId = "messaging";

    // The storage provider writes the [PersistentState] name of AccountGrain as grain_type.
    private const string AccountStateName = "account";

    [Fact]
    public async Task Start_TwoSilosOnOneDatabase_FormOneCluster()
    {
        await using var cluster = await TwoSiloCluster.StartAsync(TestContext.Current.CancellationToken);

        await cluster.A.WaitForActiveSilosAsync(2, MembershipTimeout, TestContext.Current.CancellationToken);
        await cluster.B.WaitForActiveSilosAsync(2, MembershipTimeout, TestContext.Current.CancellationToken);

        HashSet<SiloAddress> both = [cluster.A.SiloAddress, cluster.B.SiloAddress];
        Assert.Equal(both, await ActiveHostsAsync(cluster.A, TestContext.Current.CancellationToken));
        Assert.Equal(both, await ActiveHostsAsync(cluster.B, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task GetDevices_ThroughSiloB_ReachesAccountActivatedOnSiloAWithStateInPostgres()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var cluster = await TwoSiloCluster.StartAsync(cancellationToken);
        await cluster.B.WaitForActiveSilosAsync(2, MembershipTimeout, cancellationToken);

        var device = await RegisterUntilActivatedOnAsync(cluster.B, cluster.A, cancellationToken);
        using var http = device.CreateClient(cluster.B);
        var devices = await http.GetFromJsonAsync<JsonObject>("/v1/devices", cancellationToken);

        var listed = Assert.Single(devices!["devices"]!.AsArray());
        Assert.Equal(device.RegistrationId, (int)listed!["registrationId"]!);
        var management = cluster.B.Grains.GetGrain<IManagementGrain>(0);
        var account = cluster.B.Grains.GetGrain<IAccountGrain>(device.AccountId);
        Assert.Equal(cluster.A.SiloAddress, await management.GetActivationAddress(account, cancellationToken));
        Assert.Equal(1, await management.GetGrainActivationCount((GrainReference)account, cancellationToken));

        var payload = await ReadAccountStateAsync(cluster.Database.ConnectionString, device.AccountId, cancellationToken);
        Assert.True(
            payload.AsSpan().IndexOf(device.Identity.PublicKey.Span) >= 0,
            $"the orleans_grain_state row of {device.AccountId} should hold the account's identity key");
    }

    [Fact]
    public async Task Migrate_TwiceOnEmptyPostgres_SecondRunChangesNothingAndSiloStarts()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var database = await PostgresDatabase.CreateAsync();
        string[] migrate = ["migrate", "--Cluster:Storage=PostgreSql", $"--Cluster:ConnectionString={database.ConnectionString}"];

        var first = await SiloProcess.RunAsync(migrate, cancellationToken: cancellationToken);
        Assert.True(first.ExitCode == 0, first.StandardError);
        var applied = first.StandardOutput.Split('\n').Count(line => line.StartsWith("applied ", StringComparison.Ordinal));
        Assert.Contains("applied 0001", first.StandardOutput, StringComparison.Ordinal);
        var schemaAfterFirst = await DumpSchemaAsync(database.ConnectionString, cancellationToken);

        var second = await SiloProcess.RunAsync(migrate, cancellationToken: cancellationToken);
        Assert.True(second.ExitCode == 0, second.StandardError);
        Assert.Contains($": 0 applied, {applied} already applied", second.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(schemaAfterFirst, await DumpSchemaAsync(database.ConnectionString, cancellationToken));

        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = "pg-migrated" }, cancellationToken);
        using var http = silo.CreateHttpClient();
        using var ready = await http.GetAsync("/health/ready", cancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var device = await TestAccounts.RegisterAsync(silo);
        Assert.NotEmpty(await ReadAccountStateAsync(database.ConnectionString, device.AccountId, cancellationToken));
    }

    [Fact]
    public async Task Start_UnmigratedPostgres_ExitsTellingToMigrate()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var database = await PostgresDatabase.CreateAsync();

        var (exitCode, _, stderr) = await SiloProcess.RunAsync(
            ["--Cluster:Storage=PostgreSql", $"--Cluster:ConnectionString={database.ConnectionString}", "--urls=http://127.0.0.1:0",
             $"--Cluster:SiloPort={FreePorts.Next()}", "--VerificationSender:AllowDevelopmentInCluster=true"],
            cancellationToken: cancellationToken);

        Assert.Equal(3, exitCode);
        Assert.Contains("migrate", stderr, StringComparison.Ordinal);
        Assert.Contains("0001_orleans", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_SiloA_SiloBSeesOneSiloAndServesAccountThatLivedOnA()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var cluster = await TwoSiloCluster.StartAsync(cancellationToken);
        await cluster.B.WaitForActiveSilosAsync(2, MembershipTimeout, cancellationToken);
        var device = await RegisterUntilActivatedOnAsync(cluster.B, cluster.A, cancellationToken);

        await cluster.A.StopAsync();
        await cluster.B.WaitForActiveSilosAsync(1, MembershipTimeout, cancellationToken);

        Assert.Equal([cluster.B.SiloAddress], await ActiveHostsAsync(cluster.B, cancellationToken));
        using var http = device.CreateClient(cluster.B);
        var devices = await http.GetFromJsonAsync<JsonObject>("/v1/devices", cancellationToken);
        var listed = Assert.Single(devices!["devices"]!.AsArray());
        Assert.Equal(device.RegistrationId, (int)listed!["registrationId"]!);
        var account = cluster.B.Grains.GetGrain<IAccountGrain>(device.AccountId);
        Assert.Equal(cluster.B.SiloAddress, await cluster.B.Grains.GetGrain<IManagementGrain>(0).GetActivationAddress(account, cancellationToken));
    }

    private static async Task<HashSet<SiloAddress>> ActiveHostsAsync(TestSilo silo, CancellationToken cancellationToken)
    {
        var hosts = await silo.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, cancellationToken);
        return [.. hosts.Keys];
    }

    /// <summary>
    /// Registers fresh accounts through <paramref name="through"/> until one's account grain is activated on
    /// <paramref name="target"/> (placement is random), and returns that account's device.
    /// </summary>
    private static async Task<TestDevice> RegisterUntilActivatedOnAsync(TestSilo through, TestSilo target, CancellationToken cancellationToken)
    {
        var management = through.Grains.GetGrain<IManagementGrain>(0);
        var targetAddress = target.SiloAddress;
        var placements = new Dictionary<string, int>();
        for (var i = 0; i < MaxRegistrations; i++)
        {
            var device = await TestAccounts.RegisterAsync(through);
            var location = await management.GetActivationAddress(through.Grains.GetGrain<IAccountGrain>(device.AccountId), cancellationToken);
            if (location == targetAddress)
            {
                return device;
            }

            var key = location?.ToString() ?? "nowhere";
            placements[key] = placements.GetValueOrDefault(key) + 1;
        }

        Assert.Fail(
            $"none of {MaxRegistrations} accounts registered through silo {through.SiloAddress} was activated on silo {targetAddress}; "
            + $"activations by silo: {string.Join(", ", placements.Select(p => $"{p.Key}: {p.Value}"))}");
        return null!;
    }

    /// <summary>The account grain's stored state, read straight from <c>orleans_grain_state</c>.</summary>
    private static async Task<byte[]> ReadAccountStateAsync(string connectionString, string accountId, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT grain_type, payload FROM orleans_grain_state
            WHERE service_id = @service AND grain_id_extension = @account AND payload IS NOT NULL;
            """,
            connection);
        command.Parameters.AddWithValue("service", ServiceId);
        command.Parameters.AddWithValue("account", accountId);
        var rows = new List<(string GrainType, byte[] Payload)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetString(0), (byte[])reader[1]));
            }
        }

        var (_, payload) = Assert.Single(rows, row => row.GrainType == AccountStateName);
        return payload;
    }

    /// <summary>Everything the migrations define, and their records, one sorted line each.</summary>
    private static async Task<string> DumpSchemaAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
                   || ' ' || coalesce(column_default, '')
            FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL
            SELECT 'constraint ' || table_name || '.' || constraint_name || ' ' || constraint_type
            FROM information_schema.table_constraints WHERE constraint_schema = 'public'
            UNION ALL
            SELECT 'routine ' || specific_name || ' ' || coalesce(data_type, '') || ' ' || md5(coalesce(routine_definition, ''))
            FROM information_schema.routines WHERE routine_schema = 'public'
            UNION ALL
            SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT 'migration ' || version || ' ' || name || ' ' || checksum || ' ' || applied_at FROM schema_migrations
            UNION ALL
            SELECT 'query ' || querykey || ' ' || md5(querytext) FROM orleansquery
            ORDER BY 1;
            """,
            connection);
        var dump = new StringBuilder();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            dump.AppendLine(reader.GetString(0));
        }

        return dump.ToString();
    }

    /// <summary>Two silos, A started first, with one cluster id on one fresh, migrated database.</summary>
    private sealed class TwoSiloCluster : IAsyncDisposable
    {
        private TwoSiloCluster(PostgresDatabase database, TestSilo a, TestSilo b)
        {
            Database = database;
            A = a;
            B = b;
        }

        public PostgresDatabase Database { get; }

        public TestSilo A { get; }

        public TestSilo B { get; }

        public static async Task<TwoSiloCluster> StartAsync(CancellationToken cancellationToken)
        {
            var database = await PostgresDatabase.CreateAsync();
            TestSilo? a = null;
            try
            {
                await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, cancellationToken);
                var settings = new TestSiloSettings
                {
                    PostgresConnectionString = database.ConnectionString,
                    ClusterId = "pg-cluster",
                    // Orleans' default, resource-optimized placement, scores both silos of this one process alike and
                    // then prefers the calling silo: a CI run placed 40 of 40 accounts registered through B on B.
                    // Random placement makes "some account lands on A" a near certainty (1 - 2^-40).
                    Services = services => services.AddSingleton<PlacementStrategy, RandomPlacement>(),
                };
                a = await TestSilo.StartAsync(settings, cancellationToken);
                var b = await TestSilo.StartAsync(settings, cancellationToken);
                return new TwoSiloCluster(database, a, b);
            }
            catch
            {
                if (a is not null)
                {
                    await a.DisposeAsync();
                }

                await database.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await B.DisposeAsync();
                await A.DisposeAsync();
            }
            finally
            {
                await Database.DisposeAsync();
            }
        }
    }
}
