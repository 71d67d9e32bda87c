using System.Diagnostics;
using System.Security.Cryptography;
using Cluster.Client.Messaging;
using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Latency;
using Cluster.LoadTest.LinkChurn;
using Cluster.LoadTest.Load;
using Cluster.LoadTest.Reporting;

namespace Cluster.LoadTest.Fanout;

/// <summary>
/// Each operation is one message from a random device of a random account to another random account: a copy for every
/// device of the destination, then (when the server says <c>needsSync</c>) a copy for each of the sender's other
/// devices. Every device is connected and acks what it receives; the accountant checks every copy. With
/// <paramref name="churn"/> (link-churn), a share of the accounts links and unlinks a companion all along.
/// </summary>
internal sealed class FanoutScenario(bool churn) : IScenario, IDeviceListener
{
    private RunContext? context;
    private Population? population;
    private Accountant? accountant;
    private MessageSender? sender;

    private RunContext Context => context ?? throw new InvalidOperationException("not running");

    public async Task<ScenarioResult> RunAsync(RunContext run, CancellationToken cancellationToken)
    {
        context = run;
        var options = run.Options;
        var status = run.Status;
        accountant = new Accountant(BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8)), options.MessageBytes, run.Latencies);
        var directory = new DeviceDirectory(run);
        sender = new MessageSender(run, accountant, directory);
        population = await Population.CreateAsync(run, cancellationToken);
        SetupResult setup;
        LoadWindow window;
        ChurnTally? churnTally = null;
        bool drained;
        TimeSpan drainTime;
        await using (population)
        {
            setup = await AccountedRun.ConnectAllAsync(run, population, accountant, this, cancellationToken);
            if (population.Accounts.Count < 2)
            {
                return new ScenarioResult { Setup = setup };
            }

            status.Extra = () => [("delivered", accountant.DeliveredSoFar), ("outstanding", accountant.Outstanding), ("duplicated", accountant.Duplicated)];
            using var stopChurn = new CancellationTokenSource();
            var churner = churn ? new CompanionChurner(run, population, accountant, directory, this) : null;
            var churning = churner?.RunAsync(stopChurn.Token) ?? Task.CompletedTask;
            try
            {
                window = await new LoadDriver(options, status).RunAsync(SendAsync, cancellationToken);
            }
            finally
            {
                await stopChurn.CancelAsync();
                await churning;
            }

            churnTally = churner?.Tally();
            (drained, drainTime) = await AccountedRun.DrainAsync(run, accountant, cancellationToken);
        }

        // After the sockets closed: every ack the devices made is counted, and so is every re-delivery the SDK dropped.
        var redeliveredBySdk = population.Devices.Concat(churnTally?.Removed ?? []).Sum(d => d.Connection?.DuplicatesDropped ?? 0);
        var tally = accountant.Tally();
        return new ScenarioResult
        {
            Setup = setup,
            Window = window,
            Envelopes = tally with { Acked = status.Acked, Redelivered = tally.Redelivered + redeliveredBySdk },
            Churn = churnTally,
            Drained = drained,
            DrainSeconds = drainTime.TotalSeconds,
            GatedOperations = [Operations.Send, Operations.Deliver],
            Violations = churnTally?.Violations ?? [],
        };
    }

    public void OnEnvelope(SimDevice device, Envelope envelope, long timestamp) => accountant?.Delivered(device.Key, envelope, timestamp);

    public void OnEvent(SimDevice device, DeviceEvent deviceEvent, long timestamp)
    {
    }

    private async Task<bool> SendAsync(long sequence, long intendedStart, bool measured, CancellationToken cancellationToken)
    {
        var random = Context.NewRandom(sequence);
        var (from, to) = population!.PickPair(random);

        var senders = from.Senders;
        var device = senders[random.Next(senders.Count)];
        var message = accountant!.Begin(sequence, intendedStart, measured, from.AccountId, device.DeviceId);
        var content = accountant.Payload(message);
        var outcome = await sender!.PutAsync(device, to, message, content, CopyKind.Direct, intendedStart, cancellationToken);
        if (outcome != SendOutcome.SentNeedsSync)
        {
            return outcome == SendOutcome.Sent;
        }

        // The sync copy follows the send at once: its intended start is now.
        var synced = await sender.PutAsync(device, from, message, content, CopyKind.Sync, Stopwatch.GetTimestamp(), cancellationToken);
        return synced is SendOutcome.Sent or SendOutcome.SentNeedsSync or SendOutcome.NothingToSend;
    }
}
