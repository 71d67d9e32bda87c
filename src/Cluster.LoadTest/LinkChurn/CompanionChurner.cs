using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Serialization;
using Cluster.Client;
using Cluster.Client.AppState;
using Cluster.Client.Keys;
using Cluster.Client.Messaging;
using Cluster.Client.Provisioning;
using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Fanout;
using Cluster.LoadTest.Latency;
using Cluster.Signal;

namespace Cluster.LoadTest.LinkChurn;

/// <summary>
/// Link-churn: each churning account, over and over, links a companion through the QR-code flow (the new device's
/// provisioning socket, a link token, the primary's grant relayed to it, the device's link request), connects it,
/// keeps it for about <c>--churn-dwell</c> while messages flow, then unlinks it; its socket must close with 4401.
/// A cycle that has begun finishes even when the load stops, except the wait: a companion still linked when the
/// load stops stays linked, so the copies promised to it are checked during the drain. Each new companion also catches
/// up on the account's app state: the primary stores one more version of a collection, the companion fetches it from 0
/// and must reach that version.
/// </summary>
internal sealed class CompanionChurner(RunContext context, Population population, Accountant accountant, DeviceDirectory directory, IDeviceListener listener)
{
    private const string SyncedCollection = "regular";

    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<SimDevice> removed = new();
    private readonly ConcurrentQueue<string> violations = new();
    private int churning;
    private long links;
    private long unlinks;
    private long failures;
    private long appStateSyncs;

    public Task RunAsync(CancellationToken stop)
    {
        var options = context.Options;
        var chosen = population.Accounts.OrderBy(a => context.NewRandom(a.Index + 7_000_000L).Next())
            .Take(Math.Max(1, (int)Math.Round(options.ChurnShare * population.Accounts.Count)))
            .ToList();
        foreach (var account in chosen)
        {
            account.Churns = true;
        }

        churning = chosen.Count;
        return Task.WhenAll(chosen.Select(account => Task.Run(() => ChurnAsync(account, stop), CancellationToken.None)));
    }

    public ChurnTally Tally() => new()
    {
        ChurningAccounts = churning,
        Links = Interlocked.Read(ref links),
        Unlinks = Interlocked.Read(ref unlinks),
        Failures = Interlocked.Read(ref failures),
        AppStateSyncs = Interlocked.Read(ref appStateSyncs),
        Violations = [.. violations],
        Removed = [.. removed],
    };

    private async Task ChurnAsync(SimAccount account, CancellationToken stop)
    {
        var random = context.NewRandom(account.Index + 9_000_000L);
        while (!stop.IsCancellationRequested)
        {
            SimDevice? companion = null;
            try
            {
                companion = await LinkAsync(account, random);
                using (var connectDeadline = new CancellationTokenSource(StepTimeout))
                {
                    await companion.ConnectAsync(context.Gateways, listener, context.Status, connectDeadline.Token);
                }

                await PublishListAsync(account);
                await SyncAppStateAsync(account, companion);
                var dwell = context.Options.ChurnDwell * (0.5 + random.NextDouble());
                try
                {
                    await Task.Delay(dwell, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                await UnlinkAsync(account, companion);
                companion = null;
            }
            catch (Exception ex) when (Failures.IsRequestFailure(ex, CancellationToken.None) || ex is InvalidOperationException or System.Net.WebSockets.WebSocketException)
            {
                Interlocked.Increment(ref failures);
                context.Status.Error(Failures.Kind("churn", ex));
                if (companion is not null && account.Devices.Contains(companion))
                {
                    await TryUnlinkAfterFailureAsync(account, companion);
                }

                await Task.Delay(Failures.Backoff(3), CancellationToken.None);
            }
        }
    }

    private async Task<SimDevice> LinkAsync(SimAccount account, Random random)
    {
        var gateways = context.Gateways;
        var primary = account.Primary;
        var keys = new DeviceKeys(ECKeyPair.Generate(), account.NewRegistrationId(random));
        var password = DeviceKeys.NewPassword();
        var slot = population.NextSlot();
        using var deadline = new CancellationTokenSource(StepTimeout);
        var started = Stopwatch.GetTimestamp();

        // The new device shows its provisioning address as a QR code; the primary scans it.
        await using var socket = await ProvisioningSocket.OpenAsync(gateways.Target(slot), deadline.Token);
        var token = await Failures.RetryAsync(
            attempt => primary.Client(gateways, attempt).CreateLinkTokenAsync(deadline.Token), "link-token", context.Status, deadline.Token);
        var keyIndex = account.NextKeyIndex();
        var grant = primary.Keys.GrantLink(account.AccountId, keyIndex, keys.IdentityKey, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await Failures.RetryAsync(
            attempt => primary.Client(gateways, attempt).ProvisionAsync(socket.Address, ProvisioningMessage.Write(token.Token, grant), deadline.Token),
            "provision",
            context.Status,
            deadline.Token);
        var body = await socket.ReceiveBodyAsync(deadline.Token)
            ?? throw new InvalidOperationException("the provisioning socket closed without the primary's message");

        var (receivedToken, receivedGrant) = ProvisioningMessage.Read(body, account.AccountId);
        int deviceId;
        try
        {
            deviceId = (await gateways.Client(slot).LinkDeviceAsync(keys.CreateLinkRequest(receivedGrant, receivedToken, password, "churned companion"), deadline.Token)).DeviceId;
        }
        catch (Exception ex) when (Failures.IsTransient(ex, CancellationToken.None))
        {
            // No answer: the link may have been made all the same. A device the server has and nobody connects would
            // turn every copy for it into a false loss, so look for it among the account's devices.
            context.Status.Error(Failures.Kind("link", ex));
            deviceId = await FindLinkedAsync(account, keys.RegistrationId) ?? throw new InvalidOperationException("the link got no answer and did not happen", ex);
        }

        context.Latencies.Record(Operations.Link, started, Stopwatch.GetTimestamp());
        var companion = new SimDevice(account, slot, keys, new DeviceCredentials(account.AccountId, deviceId, password), keyIndex, churned: true);
        accountant.Known(companion.Key);
        account.Add(companion);
        directory.Changed(account);
        context.Status.AddLinked();
        Interlocked.Increment(ref links);
        return companion;
    }

    /// <summary>The device id of the account's device with <paramref name="registrationId"/> (unique within the run's account), if it exists.</summary>
    private async Task<int?> FindLinkedAsync(SimAccount account, int registrationId)
    {
        // A request the client gave up on may still be running on the server: look twice.
        for (var look = 0; look < 2; look++)
        {
            await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
            var devices = await Failures.RetryAsync(
                attempt => account.Primary.Client(context.Gateways, attempt).GetOwnDevicesAsync(CancellationToken.None), "devices", context.Status, CancellationToken.None);
            if (devices.FirstOrDefault(d => d.RegistrationId == registrationId) is { } found)
            {
                return found.DeviceId;
            }
        }

        return null;
    }

    private async Task UnlinkAsync(SimAccount account, SimDevice companion)
    {
        var started = Stopwatch.GetTimestamp();
        await Failures.RetryAsync(
            async attempt =>
            {
                try
                {
                    await account.Primary.Client(context.Gateways, attempt).RemoveDeviceAsync(companion.DeviceId);
                }
                catch (ClusterApiException ex) when (attempt > 0 && ex.Status == HttpStatusCode.NotFound)
                {
                    // An earlier attempt removed it and only its answer was lost.
                }
            },
            "unlink",
            context.Status,
            CancellationToken.None);
        context.Latencies.Record(Operations.Unlink, started, Stopwatch.GetTimestamp());
        account.Remove(companion);
        directory.Changed(account);
        accountant.DeviceRemoved(companion.Key);
        removed.Enqueue(companion);
        Interlocked.Increment(ref unlinks);
        await PublishListAsync(account);

        if (companion.Connection is not { Connections: > 0 } connection)
        {
            await companion.DisposeAsync();
            return;
        }

        try
        {
            var reason = await connection.Stopped.WaitAsync(StepTimeout);
            if (reason != DeviceConnectionStopReason.DeviceRemoved)
            {
                violations.Enqueue($"{companion}: after the unlink its socket stopped with {reason}, not 4401");
            }
        }
        catch (TimeoutException)
        {
            violations.Enqueue($"{companion}: its socket was still open {StepTimeout.TotalSeconds:0} s after the unlink");
        }

        await companion.DisposeAsync();
    }

    private async Task TryUnlinkAfterFailureAsync(SimAccount account, SimDevice companion)
    {
        try
        {
            await UnlinkAsync(account, companion);
        }
        catch (Exception ex) when (Failures.IsRequestFailure(ex, CancellationToken.None))
        {
            context.Status.Error(Failures.Kind("unlink", ex));
        }
    }

    /// <summary>
    /// The primary stores the next version of <see cref="SyncedCollection"/> (rebasing once on a 409); the new companion
    /// fetches the collection from 0, page by page, and must end at that version or later. Not retried: a version whose
    /// answer was lost could not be told from another device's.
    /// </summary>
    private async Task SyncAppStateAsync(SimAccount account, SimDevice companion)
    {
        using var deadline = new CancellationTokenSource(StepTimeout);
        var primary = account.Primary.Client(context.Gateways);
        var latest = (await primary.GetAppStateCollectionsAsync(deadline.Token)).FirstOrDefault(c => c.Collection == SyncedCollection)?.Version ?? 0;
        AppStateHead stored;
        try
        {
            stored = await primary.UploadAppStatePatchAsync(SyncedCollection, latest + 1, System.Text.Encoding.UTF8.GetBytes($"churn {latest + 1}"), deadline.Token);
        }
        catch (AppStateConflictException ex) when (ex.Error == "version_conflict")
        {
            stored = await primary.UploadAppStatePatchAsync(SyncedCollection, ex.Version + 1, System.Text.Encoding.UTF8.GetBytes($"churn {ex.Version + 1}"), deadline.Token);
        }

        var client = companion.Client(context.Gateways);
        var position = 0L;
        var caughtUp = 0L;
        while (true)
        {
            var page = await client.FetchAppStateAsync(SyncedCollection, position, cancellationToken: deadline.Token);
            position = page.Patches.Count > 0 ? page.Patches[^1].Version : page.Snapshot?.Version ?? position;
            caughtUp = page.Version;
            if (!page.More)
            {
                break;
            }
        }

        if (position < stored.Version || caughtUp < stored.Version)
        {
            violations.Enqueue($"{companion}: app state caught up to version {position}, below the {stored.Version} its primary stored");
        }

        Interlocked.Increment(ref appStateSyncs);
    }

    private Task PublishListAsync(SimAccount account) => Failures.RetryAsync(
        attempt => account.Primary.Client(context.Gateways, attempt).PublishDeviceListAsync(account.SignDeviceList()),
        "device-list",
        context.Status,
        CancellationToken.None);
}

/// <summary>What link-churn did.</summary>
internal sealed record ChurnTally
{
    public int ChurningAccounts { get; init; }

    public long Links { get; init; }

    public long Unlinks { get; init; }

    /// <summary>Churn cycles that failed on a request (counted by kind in the errors).</summary>
    public long Failures { get; init; }

    /// <summary>New companions that caught up on the account's app state collection from 0.</summary>
    public long AppStateSyncs { get; init; }

    public IReadOnlyList<string> Violations { get; init; } = [];

    [JsonIgnore]
    public IReadOnlyList<SimDevice> Removed { get; init; } = [];
}
