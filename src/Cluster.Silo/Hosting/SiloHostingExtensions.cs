using System.Net;
using Cluster.Persistence;
using Orleans.Configuration;
using Orleans.Storage;

namespace Cluster.Silo.Hosting;

/// <summary>
/// The host under every feature: settings, Kestrel capacity, the database (migration or schema check), the Orleans
/// silo with its clustering, TLS, grain storage and reminders, and the shutdown drain. Knows no feature.
/// </summary>
internal static class SiloHostingExtensions
{
    /// <summary>
    /// Co-hosts an Orleans silo in this ASP.NET Core process: embedded SQLite or a PostgreSQL cluster, as configured.
    /// Every silo is a gateway silo for the client protocol (HTTP and WebSockets); the Orleans gateway is off unless
    /// configured, and the inner ports run over mutual TLS when <c>Cluster:Tls</c> is set.
    /// </summary>
    public static WebApplicationBuilder AddClusterSilo(this WebApplicationBuilder builder, ClusterHostOptions options, DatabaseEndpoint database)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<IValidateOptions<ClusterHostOptions>, ClusterHostOptionsValidator>();
        builder.Services.AddOptions<ClusterHostOptions>().BindConfiguration(ClusterHostOptions.SectionName).ValidateOnStart();

        builder.Services.AddSingleton(database);
        var capacity = ConnectionCapacity.From(options);
        builder.Services.AddSingleton(capacity);
        builder.WebHost.ConfigureKestrel(capacity.Apply);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds));
        if (options.StorageMode == StorageMode.Sqlite)
        {
            // Registered before the silo so that it holds the file lock and has migrated before Orleans' providers start.
            builder.Services.AddHostedService<EmbeddedDatabaseInitializer>();
        }
        else
        {
            builder.Services.AddHostedService<SchemaCheck>();
            builder.Services.AddHostedService<RefusedConnectionWatcher>();
        }

        builder.UseOrleans(silo =>
        {
            silo.Configure<Orleans.Configuration.ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
            // Database errors thrown in a grain on another silo must reach the caller as what they are (a DbException,
            // answered 503), not as Orleans' opaque fallback for exception types it is not told to serialize.
            silo.Services.Configure<Orleans.Serialization.ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));
            if (options.SiloName is { } siloName)
            {
                silo.Configure<SiloOptions>(o => o.SiloName = siloName);
            }

            silo.Configure<ClusterMembershipOptions>(o =>
            {
                var membership = options.Membership;
                o.ProbeTimeout = TimeSpan.FromSeconds(membership.ProbeTimeoutSeconds);
                o.MaxProbeTimeout = TimeSpan.FromSeconds(membership.MaxProbeTimeoutSeconds ?? 2 * membership.ProbeTimeoutSeconds);
                o.NumMissedProbesLimit = membership.MissedProbesLimit;
                o.NumVotesForDeathDeclaration = membership.VotesForDeathDeclaration;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(membership.TableRefreshSeconds);
                o.DefunctSiloExpiration = TimeSpan.FromHours(membership.DefunctSiloExpirationHours);
            });

            if (LoadTls(options) is { } tls)
            {
                silo.UseTls(tls.Configure);
            }

            if (options.StorageMode == StorageMode.Sqlite)
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
            }
            else
            {
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = database.Invariant;
                    o.ConnectionString = database.ConnectionString;
                });
                var advertised = options.AdvertisedAddress is { Length: > 0 } address ? IPAddress.Parse(address) : null;
                silo.Configure<EndpointOptions>(o =>
                {
                    if (advertised is not null)
                    {
                        o.AdvertisedIPAddress = advertised;
                    }

                    o.SiloPort = options.SiloPort;
                    o.GatewayPort = options.GatewayPort;
                    o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, options.SiloPort);
                    o.GatewayListeningEndpoint = options.GatewayPort == 0 ? null : new IPEndPoint(IPAddress.Any, options.GatewayPort);
                });
            }

            silo.AddAdoNetGrainStorage(Cluster.Grains.GrainStorage.Name, o =>
            {
                o.Invariant = database.Invariant;
                // A cleared state deletes its row (account deletion and expiries leave none behind). Safe for every grain
                // that clears: each deactivates after clearing or writes again later, and Orleans resets the ETag after a
                // delete, so that write inserts afresh (docs/accounts.md, "Account deletion").
                o.DeleteStateOnClear = true;
                if (database.SqliteDataSource is { } sqlite)
                {
                    o.DataSource = sqlite;
                }
                else
                {
                    o.ConnectionString = database.ConnectionString;
                }
            });
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = database.Invariant;
                if (database.SqliteDataSource is { } sqlite)
                {
                    o.DataSource = sqlite;
                }
                else
                {
                    o.ConnectionString = database.ConnectionString;
                }
            });
        });

        // Grain state is written with Orleans' own version-tolerant serializer ([GenerateSerializer] + [Id]),
        // not JSON, so that renaming a C# member never breaks stored state.
        builder.Services.AddOptions<AdoNetGrainStorageOptions>(Cluster.Grains.GrainStorage.Name)
            .Configure<IServiceProvider>((o, services) =>
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(services.GetRequiredService<Orleans.Serialization.Serializer>()));

        // Registered after the silo, the place it has always had among the hosted services (their stop order depends on it).
        builder.Services.AddSingleton<ShutdownDrain>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        return builder;
    }

    private static ClusterTls? LoadTls(ClusterHostOptions options)
    {
        var failures = new List<string>();
        var tls = ClusterTls.Load(options.Tls, failures);
        return failures.Count == 0 ? tls : throw new OptionsValidationException(ClusterHostOptions.SectionName, typeof(ClusterHostOptions), failures);
    }
}

/// <summary>
/// The database this silo uses, in ADO.NET terms. In embedded mode every SQLite connection comes from one
/// <see cref="SqliteFileDataSource"/>, which applies the per-connection PRAGMAs (synchronous, busy timeout).
/// </summary>
internal sealed record DatabaseEndpoint(StorageKind Kind, string Invariant, string ConnectionString, SqliteFileDataSource? SqliteDataSource)
{
    public string? SqliteFile => SqliteDataSource?.DatabasePath;

    public static DatabaseEndpoint From(ClusterHostOptions options)
    {
        if (options.StorageMode == StorageMode.Sqlite)
        {
            var dataSource = new SqliteFileDataSource(Path.GetFullPath(options.DataPath));
            return new(StorageKind.Sqlite, AdoNetInvariants.Sqlite, dataSource.ConnectionString, dataSource);
        }

        return new(StorageKind.PostgreSql, AdoNetInvariants.PostgreSql, options.ConnectionString!, null);
    }

    public System.Data.Common.DbConnection CreateConnection() => SqliteDataSource is { } sqlite
        ? sqlite.CreateConnection()
        : new Npgsql.NpgsqlConnection(ConnectionString);
}
