using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Cluster.Client;
using Cluster.Client.Keys;
using Cluster.LoadTest.Latency;
using Cluster.Signal;

namespace Cluster.LoadTest.Devices;

/// <summary>
/// The run's accounts and devices: registered with real key material (Signal formats, XEdDSA signatures), companions
/// linked with ADV signatures and a signed device list, a bounded number of accounts at a time (the server hashes
/// every new password with PBKDF2).
/// </summary>
internal sealed class Population : IAsyncDisposable
{
    private readonly RunContext context;
    private readonly List<SimAccount> accounts = [];
    private int lastSlot = -1;

    private Population(RunContext context) => this.context = context;

    public IReadOnlyList<SimAccount> Accounts => accounts;

    /// <summary>Two different accounts, at random: who sends (or calls) and to whom. Needs at least two accounts.</summary>
    public (SimAccount From, SimAccount To) PickPair(Random random)
    {
        var from = accounts[random.Next(accounts.Count)];
        SimAccount to;
        do
        {
            to = accounts[random.Next(accounts.Count)];
        }
        while (to == from);

        return (from, to);
    }

    /// <summary>Accounts whose setup failed (left out of the run).</summary>
    public int Failed { get; private set; }

    public TimeSpan SetupTime { get; private set; }

    public IEnumerable<SimDevice> Devices => accounts.SelectMany(a => a.Devices);

    public static async Task<Population> CreateAsync(RunContext context, CancellationToken cancellationToken)
    {
        var options = context.Options;
        var status = context.Status;
        // Not from the seed: a run repeated with the same --seed must still register fresh accounts.
        var prefix = RandomNumberGenerator.GetInt32(0, 1_000_000);
        var population = new Population(context);
        status.Phase = "setup";
        status.SetupTarget = options.Accounts;
        var started = Stopwatch.GetTimestamp();
        var failed = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.SetupConcurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Accounts), parallel, async (index, token) =>
        {
            // E.164: +19, the run's prefix, the index: fresh accounts on every run, even on a database that persists.
            var account = new SimAccount(index, $"+19{prefix:D6}{index:D6}");
            try
            {
                await population.SetupAccountAsync(account, token);
                lock (population.accounts)
                {
                    population.accounts.Add(account);
                }
            }
            catch (Exception ex) when (Failures.IsRequestFailure(ex, token))
            {
                Interlocked.Increment(ref failed);
                status.Error(Failures.Kind("setup", ex));
            }
        });

        population.accounts.Sort((a, b) => a.Index.CompareTo(b.Index));
        population.Failed = failed;
        population.SetupTime = Stopwatch.GetElapsedTime(started);
        return population;
    }

    /// <summary>The next device's slot: devices are spread over the targets in the order they are made.</summary>
    public int NextSlot() => Interlocked.Increment(ref lastSlot);

    /// <summary>Links a companion directly: a link token, the primary's grant, the companion's request.</summary>
    public async Task<SimDevice> LinkCompanionAsync(SimAccount account, Random random, bool churned, CancellationToken cancellationToken)
    {
        var primary = account.Primary;
        var keys = new DeviceKeys(ECKeyPair.Generate(), account.NewRegistrationId(random));
        var password = DeviceKeys.NewPassword();
        var slot = NextSlot();
        var token = await Failures.RetryAsync(
            attempt => primary.Client(context.Gateways, attempt).CreateLinkTokenAsync(cancellationToken), "link-token", context.Status, cancellationToken);
        var keyIndex = account.NextKeyIndex();
        var grant = primary.Keys.GrantLink(account.AccountId, keyIndex, keys.IdentityKey, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var request = keys.CreateLinkRequest(grant, token.Token, password, "companion");
        var linked = await context.Gateways.Client(slot).LinkDeviceAsync(request, cancellationToken);
        var device = new SimDevice(account, slot, keys, new DeviceCredentials(account.AccountId, linked.DeviceId, password), keyIndex, churned);
        account.Add(device);
        context.Status.AddLinked();
        return device;
    }

    /// <summary>Opens the sockets of <paramref name="devices"/>, <paramref name="concurrency"/> at a time; returns how many failed.</summary>
    public async Task<int> ConnectAsync(IEnumerable<SimDevice> devices, IDeviceListener listener, int concurrency, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var failed = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(devices, parallel, async (device, token) =>
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
            deadline.CancelAfter(timeout);
            var started = Stopwatch.GetTimestamp();
            try
            {
                await device.ConnectAsync(context.Gateways, listener, context.Status, deadline.Token);
                context.Latencies.Record(Operations.Connect, started, Stopwatch.GetTimestamp());
            }
            catch (Exception ex) when (ex is ClusterApiException or InvalidOperationException || ex is OperationCanceledException && !token.IsCancellationRequested)
            {
                Interlocked.Increment(ref failed);
                context.Status.Error(Failures.Kind("connect", ex));
            }
        });
        return failed;
    }

    public async ValueTask DisposeAsync()
    {
        context.Status.Phase = "closing sockets";
        await Parallel.ForEachAsync(Devices.ToList(), new ParallelOptions { MaxDegreeOfParallelism = 256 }, (device, _) => device.DisposeAsync());
    }

    private async Task SetupAccountAsync(SimAccount account, CancellationToken cancellationToken)
    {
        var random = context.NewRandom(account.Index);
        var keys = new DeviceKeys(ECKeyPair.Generate(), account.NewRegistrationId(random));
        var password = DeviceKeys.NewPassword();
        var slot = NextSlot();
        var registration = keys.CreateRegistration(account.AccountId, password, "primary");
        var started = Stopwatch.GetTimestamp();
        await Failures.RetryAsync(
            async attempt =>
            {
                try
                {
                    var client = context.Gateways.Client(slot + attempt);
                    await client.RequestVerificationCodeAsync(account.AccountId, cancellationToken);
                    var code = await File.ReadAllTextAsync(Path.Combine(context.Options.VerificationCodes, account.AccountId + ".code"), cancellationToken);
                    await client.RegisterAsync(registration with { VerificationCode = code }, cancellationToken);
                }
                catch (ClusterApiException ex) when (attempt > 0 && Failures.Is(ex, HttpStatusCode.Conflict, "account_exists"))
                {
                    // An earlier attempt was stored and only its answer was lost.
                }
            },
            "register",
            context.Status,
            cancellationToken);
        context.Latencies.Record(Operations.Register, started, Stopwatch.GetTimestamp());
        account.Add(new SimDevice(account, slot, keys, new DeviceCredentials(account.AccountId, 1, password), keyIndex: 0));
        context.Status.AddRegistered();

        for (var i = 1; i < context.Options.DevicesPerAccount; i++)
        {
            await LinkCompanionAsync(account, random, churned: false, cancellationToken);
        }

        if (context.Options.DevicesPerAccount > 1)
        {
            await Failures.RetryAsync(
                attempt => account.Primary.Client(context.Gateways, attempt).PublishDeviceListAsync(account.SignDeviceList(), cancellationToken),
                "device-list",
                context.Status,
                cancellationToken);
        }
    }
}
