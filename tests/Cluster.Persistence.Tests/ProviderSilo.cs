using System.Net;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Storage;

namespace Cluster.Persistence.Tests;

public enum ClusteringMode
{
    Localhost,
    AdoNet,
}

/// <summary>
/// An in-process silo whose grain storage and reminders (and, in <see cref="ClusteringMode.AdoNet"/>,
/// membership) go through Orleans' ADO.NET providers to a freshly migrated test database.
/// </summary>
public sealed class ProviderSilo : IAsyncDisposable
{
    public const string StorageName = "probe-store";
    public const string DeletingStorageName = "probe-store-deleting";
    public const string ClusterId = "persistence-tests";
    public const string ServiceId = "persistence-tests";

    private readonly SqliteFileDataSource? dataSource;

    private ProviderSilo(TestDatabase database, IHost host, SqliteFileDataSource? dataSource)
    {
        Database = database;
        Host = host;
        this.dataSource = dataSource;
    }

    public TestDatabase Database { get; }

    public IHost Host { get; }

    public IGrainFactory Grains => Host.Services.GetRequiredService<IGrainFactory>();

    public IReminderTable Reminders => Host.Services.GetRequiredService<IReminderTable>();

    public IGrainStorage Storage(string name) => Host.Services.GetRequiredKeyedService<IGrainStorage>(name);

    /// <summary>
    /// Starts a silo on a new database. SQLite with localhost clustering is the embedded mode and
    /// uses a <see cref="SqliteFileDataSource"/>; the other setups use the invariant and a connection string.
    /// </summary>
    public static async Task<ProviderSilo> StartAsync(StorageKind kind, ClusteringMode clustering, CancellationToken cancellationToken)
    {
        var database = await TestDatabase.CreateAsync(kind);
        try
        {
            return await StartAsync(database, clustering, cancellationToken);
        }
        catch
        {
            await database.DisposeAsync();
            throw;
        }
    }

    private static async Task<ProviderSilo> StartAsync(TestDatabase database, ClusteringMode clustering, CancellationToken cancellationToken)
    {
        var kind = database.Kind;
        await SchemaMigrator.MigrateAsync(kind, database.ConnectionString, cancellationToken);
        var dataSource = kind == StorageKind.Sqlite && clustering == ClusteringMode.Localhost
            ? new SqliteFileDataSource(database.SqlitePath!)
            : null;
        var invariant = AdoNetInvariants.For(kind);
        var connectionString = dataSource is null ? database.ConnectionString : null;

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = ClusterId;
                options.ServiceId = ServiceId;
            });

            var (siloPort, gatewayPort) = (FreePorts.Next(), FreePorts.Next());
            if (clustering == ClusteringMode.Localhost)
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: ServiceId, clusterId: ClusterId);
            }
            else
            {
                silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort);
                silo.UseAdoNetClustering(options =>
                {
                    options.Invariant = invariant;
                    options.ConnectionString = connectionString;
                    options.DataSource = dataSource;
                });
            }

            silo.AddAdoNetGrainStorage(StorageName, options =>
            {
                options.Invariant = invariant;
                options.ConnectionString = connectionString;
                options.DataSource = dataSource;
            });
            silo.AddAdoNetGrainStorage(DeletingStorageName, options =>
            {
                options.Invariant = invariant;
                options.ConnectionString = connectionString;
                options.DataSource = dataSource;
                options.DeleteStateOnClear = true;
            });
            silo.UseAdoNetReminderService(options =>
            {
                options.Invariant = invariant;
                options.ConnectionString = connectionString;
                options.DataSource = dataSource;
            });
        });

        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new ProviderSilo(database, host, dataSource);
    }

    /// <summary>Starts a .NET client that finds the silo's gateway through the ADO.NET membership table.</summary>
    public async Task<IHost> StartAdoNetClientAsync(CancellationToken cancellationToken)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = ClusterId;
                options.ServiceId = ServiceId;
            });
            client.UseAdoNetClustering(options =>
            {
                options.Invariant = AdoNetInvariants.For(Database.Kind);
                options.ConnectionString = Database.ConnectionString;
            });
        });

        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
        if (dataSource is not null)
        {
            await dataSource.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}

/// <summary>One <see cref="ProviderSilo"/> shared by a test class; skips its tests when its database is not available.</summary>
public abstract class ProviderSiloFixture(StorageKind kind, ClusteringMode clustering) : IAsyncLifetime
{
    private ProviderSilo? silo;

    public ProviderSilo Silo
    {
        get
        {
            Assert.SkipWhen(silo is null && kind == StorageKind.PostgreSql && !PostgresDatabase.IsConfigured, PostgresDatabase.SkipReason);
            return silo ?? throw new InvalidOperationException("The silo did not start.");
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (kind == StorageKind.PostgreSql && !PostgresDatabase.IsConfigured)
        {
            return;
        }

        silo = await ProviderSilo.StartAsync(kind, clustering, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (silo is not null)
        {
            await silo.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

public sealed class SqliteEmbeddedSiloFixture() : ProviderSiloFixture(StorageKind.Sqlite, ClusteringMode.Localhost);

public sealed class SqliteAdoNetClusteringSiloFixture() : ProviderSiloFixture(StorageKind.Sqlite, ClusteringMode.AdoNet);

public sealed class PostgreSqlSiloFixture() : ProviderSiloFixture(StorageKind.PostgreSql, ClusteringMode.AdoNet);
