using Cluster.Persistence;

namespace Cluster.Testing;

/// <summary>
/// Two silos in this process on one fresh, migrated PostgreSQL database, each seeing both active. Skips the calling test
/// (as <see cref="PostgresDatabase"/> does) when <see cref="PostgresDatabase.AdminConnectionStringVariable"/> names no server.
/// </summary>
public sealed class PostgresSiloPair : IAsyncDisposable
{
    // Orleans' default TableRefreshTimeout is 60 s: a silo that missed the gossip about a change still sees it by then.
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(90);

    private readonly PostgresDatabase database;
    private readonly List<TestSilo> silos = [];

    private PostgresSiloPair(PostgresDatabase database) => this.database = database;

    public TestSilo A => silos[0];

    public TestSilo B => silos[1];

    /// <summary>Starts both silos under a fresh cluster id beginning with <paramref name="clusterIdPrefix"/>, with <paramref name="settings"/>.</summary>
    public static async Task<PostgresSiloPair> StartAsync(string clusterIdPrefix, IReadOnlyDictionary<string, string>? settings = null, CancellationToken cancellationToken = default)
    {
        var pair = new PostgresSiloPair(await PostgresDatabase.CreateAsync());
        try
        {
            await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, pair.database.ConnectionString, cancellationToken);
            var siloSettings = new TestSiloSettings
            {
                PostgresConnectionString = pair.database.ConnectionString,
                ClusterId = $"{clusterIdPrefix}-{Guid.NewGuid():N}",
                Settings = settings ?? new Dictionary<string, string>(),
            };
            pair.silos.Add(await TestSilo.StartAsync(siloSettings, cancellationToken));
            pair.silos.Add(await TestSilo.StartAsync(siloSettings, cancellationToken));
            await pair.A.WaitForActiveSilosAsync(2, MembershipTimeout, cancellationToken);
            await pair.B.WaitForActiveSilosAsync(2, MembershipTimeout, cancellationToken);
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = silos.Count - 1; i >= 0; i--)
        {
            await silos[i].DisposeAsync();
        }

        await database.DisposeAsync();
    }
}
