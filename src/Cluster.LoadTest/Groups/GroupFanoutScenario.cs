using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Cluster.Client.Groups;
using Cluster.Client.Messaging;
using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Latency;
using Cluster.LoadTest.Load;
using Cluster.LoadTest.Reporting;

namespace Cluster.LoadTest.Groups;

/// <summary>
/// The accounts form groups of <c>--group-size</c> (the first creates it); each group then drops its last member. Each
/// operation is one group send from a random device of a random remaining member: one sender-key content and the view of
/// every member's devices; the server fans it out. Every device of every remaining member but the sender must get it
/// exactly once (the accountant counts lost and duplicated copies); a copy on a removed member's device is a violation.
/// </summary>
internal sealed class GroupFanoutScenario : IScenario, IDeviceListener
{
    private const int MaxViolationSamples = 20;

    private readonly List<SimGroup> groups = [];

    // Group id -> the removed member's account index: set during setup, read by OnEnvelope.
    private readonly ConcurrentDictionary<string, int> removedMembers = new(StringComparer.Ordinal);

    // Samples of copies delivered to a removed member: added by OnEnvelope.
    private readonly ConcurrentQueue<string> violations = new();

    private RunContext? context;
    private Accountant? accountant;

    private RunContext Context => context ?? throw new InvalidOperationException("not running");

    public async Task<ScenarioResult> RunAsync(RunContext run, CancellationToken cancellationToken)
    {
        context = run;
        var options = run.Options;
        var status = run.Status;
        accountant = new Accountant(BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8)), options.MessageBytes, run.Latencies);
        var population = await Population.CreateAsync(run, cancellationToken);
        SetupResult setup;
        LoadWindow window;
        bool drained;
        TimeSpan drainTime;
        await using (population)
        {
            setup = await AccountedRun.ConnectAllAsync(run, population, accountant, this, cancellationToken);
            status.Phase = "groups";
            await FormGroupsAsync(population.Accounts, options.GroupSize, cancellationToken);
            if (groups.Count == 0)
            {
                return new ScenarioResult { Setup = setup };
            }

            status.Extra = () => [("delivered", accountant.DeliveredSoFar), ("outstanding", accountant.Outstanding), ("duplicated", accountant.Duplicated)];
            window = await new LoadDriver(options, status).RunAsync(SendAsync, cancellationToken);
            (drained, drainTime) = await AccountedRun.DrainAsync(run, accountant, cancellationToken);
        }

        var redeliveredBySdk = population.Devices.Sum(d => d.Connection?.DuplicatesDropped ?? 0);
        var tally = accountant.Tally();
        return new ScenarioResult
        {
            Setup = setup,
            Window = window,
            Envelopes = tally with { Acked = status.Acked, Redelivered = tally.Redelivered + redeliveredBySdk },
            Drained = drained,
            DrainSeconds = drainTime.TotalSeconds,
            GatedOperations = [Operations.Send, Operations.Deliver],
            Violations = [.. violations],
        };
    }

    public void OnEnvelope(SimDevice device, Envelope envelope, long timestamp)
    {
        if (envelope.GroupId is { } groupId && removedMembers.TryGetValue(groupId, out var removed) && removed == device.Account.Index && violations.Count < MaxViolationSamples)
        {
            violations.Enqueue($"group {groupId}: a copy reached {device} after its account was removed");
        }

        accountant?.Delivered(device.Key, envelope, timestamp);
    }

    public void OnEvent(SimDevice device, DeviceEvent deviceEvent, long timestamp)
    {
    }

    /// <summary>Groups of <paramref name="size"/> consecutive accounts (a short last one joins the one before); each drops its last member once created.</summary>
    private async Task FormGroupsAsync(IReadOnlyList<SimAccount> accounts, int size, CancellationToken cancellationToken)
    {
        var chunks = accounts.Chunk(size).ToList();
        if (chunks.Count > 1 && chunks[^1].Length < 3)
        {
            chunks[^2] = [.. chunks[^2], .. chunks[^1]];
            chunks.RemoveAt(chunks.Count - 1);
        }

        foreach (var members in chunks.Where(c => c.Length >= 3))
        {
            var creator = members[0].Primary.Client(Context.Gateways);
            var created = await Failures.RetryAsync(
                _ => creator.CreateGroupAsync([.. members.Skip(1).Select(m => m.AccountId)], cancellationToken: cancellationToken), "group-create", Context.Status, cancellationToken);
            removedMembers[created.GroupId] = members[^1].Index;
            await Failures.RetryAsync(
                _ => creator.RemoveGroupMemberAsync(created.GroupId, members[^1].AccountId, cancellationToken), "group-remove", Context.Status, cancellationToken);
            groups.Add(new SimGroup(created.GroupId, members[..^1]));
        }
    }

    private async Task<bool> SendAsync(long sequence, long intendedStart, bool measured, CancellationToken cancellationToken)
    {
        var random = Context.NewRandom(sequence);
        var group = groups[random.Next(groups.Count)];
        var from = group.Members[random.Next(group.Members.Count)];
        var device = from.Senders[random.Next(from.Senders.Count)];
        var message = accountant!.Begin(sequence, intendedStart, measured, from.AccountId, device.DeviceId);
        var targets = group.Members.SelectMany(m => m.Devices).Where(d => d != device).ToList();
        var body = new GroupMessage
        {
            Recipients = [.. group.Members.Select(m => new GroupRecipient(
                m.AccountId, [.. m.Devices.Where(d => d != device).Select(d => new GroupRecipientDevice(d.DeviceId, d.Keys.RegistrationId))]))],
            Content = accountant.Payload(message),
            Timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            ClientMessageId = string.Create(CultureInfo.InvariantCulture, $"{accountant.RunTag:x16}-{message.Id}"),
        };
        try
        {
            await device.Client(Context.Gateways).SendGroupMessageAsync(group.GroupId, body, cancellationToken);
        }
        catch (Exception ex) when (Failures.IsRequestFailure(ex, cancellationToken))
        {
            Context.Status.Error(Failures.Kind("group-send", ex));
            accountant.Sent(targets.Count);
            return false;
        }

        if (measured)
        {
            Context.Latencies.Record(Operations.Send, intendedStart, Stopwatch.GetTimestamp());
        }

        accountant.Sent(targets.Count);
        accountant.Acknowledged(message, [.. targets.Select(t => t.Key)], CopyKind.Direct);
        return true;
    }

    /// <summary>A group as the scenario knows it: its id and its remaining members.</summary>
    private sealed record SimGroup(string GroupId, IReadOnlyList<SimAccount> Members);
}
