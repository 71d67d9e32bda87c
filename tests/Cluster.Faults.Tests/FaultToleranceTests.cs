using System.Diagnostics;
using Cluster.Persistence;
using Cluster.Testing;

namespace Cluster.Faults.Tests;

/// <summary>
/// Three silo processes on PostgreSQL, eight devices on sockets spread over them, paced traffic, and a fault in the
/// middle of it. Each test ends with the accounting of every envelope (<see cref="FaultScenario"/>).
/// </summary>
/// <remarks>The tests of this class run one after another (one class, one collection): each runs a cluster of its own.</remarks>
public sealed class FaultToleranceTests(ITestOutputHelper testOutput)
{
    private readonly FaultReport output = new(testOutput);

    private const int Silos = 3;
    private const int MinimumSends = 200;

    /// <summary>Upper bound for declaring a killed silo dead with the tests' settings (1 s probes, 2 misses, 1 vote); ~2 s when idle.</summary>
    private static readonly TimeSpan DeathDeadline = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task KillSilo_MidTraffic_DeclaredDeadAndNoAcknowledgedEnvelopeLost()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, TestContext.Current.CancellationToken);
        await using var cluster = await ProcessCluster.StartAsync(database.ConnectionString, Silos);
        await using var scenario = await FaultScenario.StartAsync(cluster, output);
        var victim = cluster.Silos[1];

        await scenario.RunAsync(
            async () =>
            {
                await scenario.Traffic.OkCount(40);
                var sockets = scenario.Devices.Count(d => d.CurrentSilo == victim.Index - 1);
                victim.Kill();
                scenario.Log($"SIGKILL silo {victim.Index} after {scenario.Traffic.Ok} sends got 200; it held {sockets} sockets");
                var dead = await cluster.WaitDeadAsync(victim, DeathDeadline);
                scenario.Log($"silo {victim.Index} declared Dead in the membership table {dead.TotalSeconds:0.0}s after SIGKILL");
                var okAtRestart = scenario.Traffic.Ok;
                victim.Start();
                var ready = await cluster.WaitReadyAsync(victim);
                scenario.Log($"silo {victim.Index} restarted, ready after {ready.TotalSeconds:0.0}s; {scenario.Traffic.Ok - okAtRestart} sends got 200 meanwhile");
                await scenario.Traffic.OkCount(scenario.Traffic.Ok + 40);
            },
            MinimumSends);

        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, $"silo {s.Index} runs at the end"));
    }

    /// <summary>
    /// The silos' own failure detection, as in production; the senders are the SDK's, through a round-robin balancer
    /// that keeps sending a third of the attempts to the dead silo. A killed silo's port refuses connections, which the
    /// survivors take as proof of death (<c>cluster_silos_declared_dead_total{evidence="refused_connection"}</c>); no
    /// send may surface an error to the application, and nothing acknowledged may be lost.
    /// </summary>
    [Fact]
    public async Task KillSilo_ProductionFailureDetection_SdkSendersSeeNoFailureAndNoAcknowledgedEnvelopeLost()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, TestContext.Current.CancellationToken);
        await using var cluster = await ProcessCluster.StartAsync(database.ConnectionString, Silos, failureDetection: ProcessCluster.ProductionFailureDetection);
        await using var scenario = await FaultScenario.StartAsync(cluster, output, viaSdk: true);
        var victim = cluster.Silos[1];

        await scenario.RunAsync(
            async () =>
            {
                await scenario.Traffic.OkCount(40);
                victim.Kill();
                var clock = Stopwatch.StartNew();
                var okAtKill = scenario.Traffic.Ok;
                scenario.Log($"SIGKILL silo {victim.Index} after {okAtKill} sends got 200");
                var dead = await cluster.WaitDeadAsync(victim, DeathDeadline);
                scenario.Log($"silo {victim.Index} declared Dead in the membership table {dead.TotalSeconds:0.0}s after SIGKILL; {scenario.Traffic.Ok - okAtKill} sends got 200 meanwhile");
                await scenario.Traffic.OkCount(scenario.Traffic.Ok + 40);
                scenario.Log($"40 more sends got 200 {clock.Elapsed.TotalSeconds:0.0}s after SIGKILL");
                victim.Start();
                var ready = await cluster.WaitReadyAsync(victim);
                scenario.Log($"silo {victim.Index} restarted, ready after {ready.TotalSeconds:0.0}s");
                await scenario.Traffic.OkCount(scenario.Traffic.Ok + 40);
            },
            MinimumSends);

        var declared = 0d;
        foreach (var survivor in cluster.Silos.Where(s => s != victim))
        {
            declared += await cluster.MetricAsync(survivor, "cluster_silos_declared_dead_total", "evidence=\"refused_connection\"");
        }

        output.WriteLine($"survivors that declared the killed silo dead on a refused connection: {declared}");
        Assert.True(declared >= 1, "a survivor declared the killed silo dead on its refused connections");
        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, $"silo {s.Index} runs at the end"));
    }

    /// <summary>
    /// A silo frozen with SIGSTOP for four seconds (a long GC pause, a starved machine) under SDK traffic: its ports stay
    /// open, so there is no proof of death, and the production probes must ride it out. It is not declared dead: its
    /// generation stays Active, no row on its port ever goes Dead, it still runs; the sends that waited for it got their
    /// 200 after the thaw, and nothing acknowledged is lost.
    /// </summary>
    [Fact]
    public async Task FreezeSilo_FourSecondsMidTraffic_NotDeclaredDeadAndNoAcknowledgedEnvelopeLost()
    {
        var freezeFor = TimeSpan.FromSeconds(4);
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, TestContext.Current.CancellationToken);
        await using var cluster = await ProcessCluster.StartAsync(database.ConnectionString, Silos, failureDetection: ProcessCluster.ProductionFailureDetection);
        await using var scenario = await FaultScenario.StartAsync(cluster, output, viaSdk: true);
        var frozen = cluster.Silos[1];

        await scenario.RunAsync(
            async () =>
            {
                await scenario.Traffic.OkCount(40);
                await frozen.FreezeAsync();
                var okAtFreeze = scenario.Traffic.Ok;
                scenario.Log($"SIGSTOP silo {frozen.Index} after {okAtFreeze} sends got 200");
                // The pause is the fault itself, not a wait for something to happen.
                await Task.Delay(freezeFor, TestContext.Current.CancellationToken);
                await frozen.ThawAsync();
                scenario.Log($"SIGCONT silo {frozen.Index} after {freezeFor.TotalSeconds:0}s; {scenario.Traffic.Ok - okAtFreeze} sends got 200 meanwhile");
                await scenario.Traffic.OkCount(scenario.Traffic.Ok + 60);
            },
            MinimumSends);

        var status = await cluster.MembershipStatusAsync(frozen);
        var deadRows = await cluster.DeadGenerationsAsync(frozen);
        output.WriteLine($"silo {frozen.Index} after the thaw: membership status {status}, dead rows on its port {deadRows}, running {frozen.IsRunning}");
        Assert.True(frozen.IsRunning, $"silo {frozen.Index} runs after the thaw (a silo declared dead stops itself)");
        Assert.Equal(0, deadRows);
        Assert.Equal(3, status);
        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, $"silo {s.Index} runs at the end"));
    }

    /// <summary>
    /// The device grains of sockets on silo 1 live on silo 2 when silo 2 is killed. The grains come back elsewhere
    /// without their sockets; the sockets must attach again on their own, without the clients reconnecting. The
    /// keep-alive check is ten minutes here, so only the reaction to the death declaration can do it within the test.
    /// </summary>
    [Fact]
    public async Task KillSilo_HoldingGrainsOfSocketsElsewhere_SameSocketsAttachAgainAndGetWhatIsSentNext()
    {
        const int DeviceCount = 6;
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, TestContext.Current.CancellationToken);
        // Silos 2 and 3 place a device's grain at its socket; silo 1 leaves it where it is. So a socket through silo 2
        // puts the grain there, and the device's socket through silo 1 afterwards leaves it there.
        await using var cluster = await ProcessCluster.StartAsync(
            database.ConnectionString,
            Silos,
            new Dictionary<string, string> { ["Cluster:SocketKeepAliveSeconds"] = "600" },
            index => new Dictionary<string, string> { ["Cluster:DevicePlacement"] = index == 1 ? "Default" : "Socket" });
        var (socketSilo, victim, senderSilo) = (cluster.Silos[0], cluster.Silos[1], cluster.Silos[2]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var sender = await FaultScenario.RegisterAsync(http, senderSilo);
        var recipients = new List<TestDevice>();
        for (var i = 0; i < DeviceCount; i++)
        {
            var recipient = await FaultScenario.RegisterAsync(http, victim);
            await FaultDevice.VisitAsync(victim, recipient);
            recipients.Add(recipient);
        }

        var grainsOnVictim = await cluster.MetricAsync(victim, "cluster_device_grains_active");
        Assert.True(grainsOnVictim >= DeviceCount, $"the recipients' grains are on silo {victim.Index} (it has {grainsOnVictim} device grains)");

        using var traffic = new Traffic(cluster, [[sender], .. recipients.Select(r => (IReadOnlyList<TestDevice>)[r])]);
        var devices = recipients.Select(r => new FaultDevice(r, cluster, socketSilo.Index - 1)).ToList();
        try
        {
            devices.ForEach(d => d.Start());
            await Task.WhenAll(devices.Select(d => d.Connected)).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            victim.Kill();
            var dead = await cluster.WaitDeadAsync(victim, DeathDeadline);
            output.WriteLine($"silo {victim.Index} (holding {grainsOnVictim} device grains) declared Dead {dead.TotalSeconds:0.0}s after SIGKILL");

            var clock = Stopwatch.StartNew();
            await Task.WhenAll(recipients.Select(r => traffic.SendOneAsync(sender, [r], firstSilo: senderSilo.Index - 1)));
            var promised = traffic.PromisedByDevice();
            await Task.WhenAll(devices.Select(d => d.WaitForAsync(promised[d.Device.Login], TimeSpan.FromSeconds(60))));
            output.WriteLine($"every device got its envelope {clock.Elapsed.TotalSeconds:0.0}s after the death was declared");

            var reattached = await cluster.MetricAsync(socketSilo, "cluster_sockets_reattached_total", "cause=\"grain_lost\"");
            output.WriteLine($"sends: {traffic.Ok} got 200 of {traffic.Started}; sockets re-attached after the death: {reattached} of {DeviceCount}; sockets opened: {devices.Sum(d => d.Connections)} for {devices.Count} devices");
            Assert.Equal(traffic.Started, traffic.Ok);
            Assert.All(devices, d => Assert.Equal(1, d.Connections));
            Assert.Equal(DeviceCount, reattached);
        }
        finally
        {
            foreach (var device in devices)
            {
                await device.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task RollingRestart_MidTraffic_EverySiloLeavesGracefullyAndNoAcknowledgedEnvelopeLost()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, TestContext.Current.CancellationToken);
        await using var cluster = await ProcessCluster.StartAsync(database.ConnectionString, Silos);
        await using var scenario = await FaultScenario.StartAsync(cluster, output);
        var readinessOffSeen = 0;

        await scenario.RunAsync(
            async () =>
            {
                await scenario.Traffic.OkCount(30);
                foreach (var silo in cluster.Silos)
                {
                    var clock = Stopwatch.StartNew();
                    await silo.TerminateAsync();
                    // ShutdownDrainSeconds=1: for that second the process serves, but /health/ready is 503.
                    await Eventually.TrueAsync(async () => !silo.IsRunning || !await cluster.IsReadyAsync(silo), StopDeadline, () => $"silo {silo.Index} not ready after SIGTERM");
                    if (silo.IsRunning)
                    {
                        readinessOffSeen++;
                    }

                    await silo.WaitForExitAsync(StopDeadline);
                    var stopped = clock.Elapsed;
                    Assert.Equal(0, silo.ExitCode);
                    Assert.Equal(6, await cluster.MembershipStatusAsync(silo));
                    silo.Start();
                    var ready = await cluster.WaitReadyAsync(silo);
                    scenario.Log($"silo {silo.Index}: SIGTERM → exit 0 and Dead (left) in the table after {stopped.TotalSeconds:0.0}s; ready again {ready.TotalSeconds:0.0}s after start; {scenario.Traffic.Ok} sends got 200 so far");
                }

                await scenario.Traffic.OkCount(scenario.Traffic.Ok + 30);
            },
            MinimumSends);

        output.WriteLine($"readiness seen off while a stopping silo still ran: {readinessOffSeen} of {Silos}");
        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, $"silo {s.Index} runs at the end (none was declared dead by mistake)"));
        Assert.True(scenario.Devices.Sum(d => d.Closes.GetValueOrDefault("1001")) > 0, "stopping silos closed sockets with 1001");
    }

    [Fact]
    public async Task RestartPostgres_MidTraffic_SilosRecoverAndNoAcknowledgedEnvelopeLost()
    {
        Assert.SkipUnless(PostgresDatabase.IsConfigured, PostgresDatabase.SkipReason);
        await using var postgres = await PrivatePostgres.StartAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, postgres.ConnectionString, TestContext.Current.CancellationToken);
        await using var cluster = await ProcessCluster.StartAsync(postgres.ConnectionString, Silos);
        await using var scenario = await FaultScenario.StartAsync(cluster, output);

        await scenario.RunAsync(
            async () =>
            {
                await scenario.Traffic.OkCount(40);
                var clock = Stopwatch.StartNew();
                await postgres.StopAsync();
                var okAtStop = scenario.Traffic.Ok;
                scenario.Log($"PostgreSQL stopped (fast) after {okAtStop} sends got 200; stopping took {clock.Elapsed.TotalSeconds:0.0}s");
                await Eventually.TrueAsync(
                    async () => !(await Task.WhenAll(cluster.Silos.Select(cluster.IsReadyAsync))).Any(ready => ready),
                    TimeSpan.FromSeconds(30),
                    () => "every silo reports not ready while the database is down");
                scenario.Log($"every silo not ready {clock.Elapsed.TotalSeconds:0.0}s after the stop began");
                await postgres.StartAgainAsync();
                scenario.Log($"PostgreSQL accepts connections again {clock.Elapsed.TotalSeconds:0.0}s after the stop began; {scenario.Traffic.Ok - okAtStop} sends got 200 since it stopped");
                await Task.WhenAll(cluster.Silos.Select(cluster.WaitReadyAsync));
                scenario.Log($"every silo ready again {clock.Elapsed.TotalSeconds:0.0}s after the stop began");
                await scenario.Traffic.OkCount(scenario.Traffic.Ok + 40);
            },
            MinimumSends);

        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, $"silo {s.Index} survived the database outage"));
    }
}
