using Cluster.Silo;
using Cluster.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Testing;

/// <summary>How to start a <see cref="TestSilo"/>.</summary>
public sealed record TestSiloSettings
{
    /// <summary>The SQLite file (embedded mode); a fresh temp file when null and no PostgreSQL is given.</summary>
    public string? DataPath { get; init; }

    /// <summary>A PostgreSQL connection string: cluster mode.</summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>Cluster id (PostgreSQL mode: silos with the same one form a cluster).</summary>
    public string ClusterId { get; init; } = "test";

    /// <summary>A fake clock to run the silo on, or null for the real one.</summary>
    public FakeTimeProvider? Time { get; init; }

    /// <summary>More configuration, as <c>key=value</c>.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>Services to add or replace, registered after the silo's own.</summary>
    public Action<IServiceCollection>? Services { get; init; }
}

/// <summary>
/// One real silo process's host, in this test process: Kestrel on a loopback port chosen by the OS, Orleans on free
/// ports, the same <see cref="SiloApplication"/> the executable runs.
/// </summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly string? ownedDirectory;

    private TestSilo(WebApplication app, TestSiloSettings settings, string? ownedDirectory, string? dataPath)
    {
        App = app;
        Settings = settings;
        DataPath = dataPath;
        this.ownedDirectory = ownedDirectory;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public WebApplication App { get; }

    public TestSiloSettings Settings { get; }

    /// <summary>The SQLite file in embedded mode.</summary>
    public string? DataPath { get; }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => App.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    /// <summary>A client for this silo's HTTP endpoints.</summary>
    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Limits every test silo raises out of reach unless the test's own settings say otherwise.</summary>
    public static readonly IReadOnlyList<string> UnreachedLimits =
    [
        "Auth:Throttle:FailuresPerDevice=1000000",
        "Auth:Throttle:FailuresPerClientAddress=1000000",
        "Auth:HashQueueLimit=100000",
        "AnonymousLimits:RegistrationBurst=1000000",
        "AnonymousLimits:LinkBurst=1000000",
        "AnonymousLimits:VerificationBurst=1000000",
        "Verification:MaxCodesPerNumber=1000000",
        "Verification:MinInterval=00:00:00",
        "AnonymousLimits:ProvisioningBurst=1000000",
        "Provisioning:MaxSocketsPerClientAddress=1000000",
        "Provisioning:MaxSockets=1000000",
        "SenderLimits:MessagesPerDeviceBurst=10000000",
        "SenderLimits:MessagesPerDestinationBurst=10000000",
        "SenderLimits:CallsPerDeviceBurst=10000000",
        "SenderLimits:CallsPerDestinationBurst=10000000",
        "SenderLimits:IcePerDeviceBurst=10000000",
    ];

    public static async Task<TestSilo> StartAsync(TestSiloSettings? settings = null, CancellationToken cancellationToken = default)
    {
        settings ??= new TestSiloSettings();
        string? ownedDirectory = null;
        var dataPath = settings.DataPath;
        if (settings.PostgresConnectionString is null && dataPath is null)
        {
            ownedDirectory = Directory.CreateTempSubdirectory("cluster-test-").FullName;
            dataPath = Path.Combine(ownedDirectory, "cluster.db");
        }

        var args = new List<string>
        {
            "--urls=http://127.0.0.1:0",
            $"--Cluster:SiloPort={FreePorts.Next()}",
            $"--Cluster:ClusterId={settings.ClusterId}",
            "--Auth:PasswordHashIterations=1000",
        };
        // Every test talks from 127.0.0.1, many through one shared silo: the per-client and per-sender limits are out
        // of reach unless a test sets its own (its settings come later, and the last value of a key wins).
        args.AddRange(UnreachedLimits.Select(setting => $"--{setting}"));
        args.Add("--Logging:LogLevel:Default=Warning");
        args.Add("--Logging:LogLevel:Orleans=Error");
        if (settings.PostgresConnectionString is { } postgres)
        {
            args.Add("--Cluster:Storage=PostgreSql");
            args.Add($"--Cluster:ConnectionString={postgres}");
            args.Add("--Cluster:AdvertisedAddress=127.0.0.1");
            // Tests read codes from the development sender (TestAccounts.VerificationCodeAsync), in cluster mode too.
            args.Add("--VerificationSender:AllowDevelopmentInCluster=true");
        }
        else
        {
            args.Add("--Cluster:Storage=Sqlite");
            args.Add($"--Cluster:DataPath={dataPath}");
        }

        foreach (var (key, value) in settings.Settings)
        {
            args.Add($"--{key}={value}");
        }

        var app = SiloApplication.Build([.. args], builder =>
        {
            if (settings.Time is { } time)
            {
                builder.Services.AddKeyedSingleton<TimeProvider>(Cluster.Grains.ClusterClock.Key, time);
            }

            settings.Services?.Invoke(builder.Services);
        });
        await app.StartAsync(cancellationToken);
        return new TestSilo(app, settings, ownedDirectory, dataPath);
    }

    /// <summary>This silo's address in the cluster.</summary>
    public Orleans.Runtime.SiloAddress SiloAddress => Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress;

    /// <summary>
    /// Awaits the silo's own membership updates (the event Orleans publishes when its view changes) until it sees
    /// <paramref name="count"/> active silos; fails after <paramref name="timeout"/> with the silo's last view.
    /// </summary>
    public async Task WaitForActiveSilosAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var membership = Services.GetRequiredService<Orleans.Runtime.IClusterMembershipService>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        Orleans.Runtime.ClusterMembershipSnapshot? last = null;
        try
        {
            // The enumeration starts with the current snapshot, then yields each change.
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(deadline.Token))
            {
                last = snapshot;
                if (snapshot.Members.Values.Count(m => m.Status == Orleans.Runtime.SiloStatus.Active) == count)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The timeout: reported below with the silo's last view.
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new TimeoutException($"silo {SiloAddress} should have seen {count} active silo(s) within {timeout.TotalSeconds} s; its last view: {last}");
    }

    /// <summary>Stops the silo gracefully, as SIGTERM does.</summary>
    public Task StopAsync() => App.StopAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.IsCancellationRequested)
            {
                await App.StopAsync();
            }
        }
        finally
        {
            await App.DisposeAsync();
            if (ownedDirectory is not null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                try
                {
                    Directory.Delete(ownedDirectory, recursive: true);
                }
                catch (IOException)
                {
                    // A file still open by a pooled connection: the temp directory is cleaned by the OS later.
                }
            }
        }
    }
}
