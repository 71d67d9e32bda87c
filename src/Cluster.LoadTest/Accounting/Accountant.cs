using System.Collections.Concurrent;
using Cluster.Client.Messaging;
using Cluster.LoadTest.Latency;

namespace Cluster.LoadTest.Accounting;

/// <summary>
/// Accounts for every copy of every message: what a 200 promised to which device, what each device received, and at
/// the end what was delivered, duplicated or lost. A copy is expected once a send naming its device got a 200; a
/// delivery may come before that 200 and still counts. A copy for a device that was unlinked before it arrived is
/// voided, not lost (the server purged its queue). Thread-safe: devices report concurrently.
/// </summary>
internal sealed class Accountant(long runTag, int messageBytes, LatencyRecorder latencies)
{
    private const int MaxLostSamples = 20;

    private readonly ConcurrentDictionary<long, TrackedMessage> messages = new();
    private readonly ConcurrentDictionary<DeviceKey, DeviceLedger> ledgers = new();
    private readonly ConcurrentDictionary<DeviceKey, byte> known = new();
    private TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long outstanding;
    private long sent;
    private long delivered;
    private long duplicated;
    private long redelivered;
    private long unexpected;
    private long corrupted;
    private long misattributed;
    private long notices;

    public long RunTag => runTag;

    public int MessageBytes => messageBytes;

    /// <summary>Copies promised by a 200 that have neither arrived nor been voided.</summary>
    public long Outstanding => Interlocked.Read(ref outstanding);

    /// <summary>First deliveries so far (any copy of this run).</summary>
    public long DeliveredSoFar => Interlocked.Read(ref delivered);

    public long Duplicated => Interlocked.Read(ref duplicated);

    public TrackedMessage Begin(long id, long scheduledTimestamp, bool measured, string senderAccount, int senderDevice)
    {
        var message = new TrackedMessage(id, scheduledTimestamp, measured, senderAccount, senderDevice);
        return messages.TryAdd(id, message) ? message : throw new InvalidOperationException($"message {id} was begun twice");
    }

    /// <summary>A device the run made (and connects): copies promised to a device it never knew cannot be checked.</summary>
    public void Known(DeviceKey device) => known.TryAdd(device, 0);

    public byte[] Payload(TrackedMessage message) => MessagePayload.Create(message.Id, runTag, messageBytes);

    /// <summary>A send was made (its last attempt named <paramref name="copies"/> devices), whatever its outcome.</summary>
    public void Sent(int copies) => Interlocked.Add(ref sent, copies);

    /// <summary>A send got its 200: every device in <paramref name="targets"/> must now receive the message.</summary>
    public void Acknowledged(TrackedMessage message, IReadOnlyList<DeviceKey> targets, CopyKind kind)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(targets);
        var pending = new List<DeviceKey>(targets.Count);
        lock (message.Gate)
        {
            foreach (var key in targets)
            {
                var copy = message.Find(key) ?? message.Add(key);
                if (copy.Expected)
                {
                    continue;
                }

                copy.Expected = true;
                copy.Kind = kind;
                if (!copy.Delivered)
                {
                    Interlocked.Increment(ref outstanding);
                    pending.Add(key);
                }
            }
        }

        foreach (var key in pending)
        {
            var ledger = ledgers.GetOrAdd(key, _ => new DeviceLedger());
            bool removed;
            lock (ledger.Gate)
            {
                removed = ledger.Removed;
                if (!removed)
                {
                    ledger.Pending.Add(message.Id);
                }
            }

            if (removed)
            {
                Void(message, key);
            }
        }
    }

    /// <summary>Device <paramref name="at"/> received <paramref name="envelope"/> at <paramref name="timestamp"/>.</summary>
    public void Delivered(DeviceKey at, Envelope envelope, long timestamp)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Type == 0)
        {
            Interlocked.Increment(ref notices);
            return;
        }

        if (MessagePayload.TryRead(envelope.Content, runTag) is not { } id || !messages.TryGetValue(id, out var message))
        {
            Interlocked.Increment(ref unexpected);
            return;
        }

        if (!MessagePayload.IsIntact(envelope.Content, id, runTag, messageBytes))
        {
            Interlocked.Increment(ref corrupted);
        }

        if (envelope.SourceAccount != message.SenderAccount || envelope.SourceDevice != message.SenderDevice || envelope.DestinationDevice != at.DeviceId)
        {
            Interlocked.Increment(ref misattributed);
        }

        var leftPending = false;
        lock (message.Gate)
        {
            var copy = message.Find(at) ?? message.Add(at);
            if (copy.Delivered)
            {
                Interlocked.Increment(ref copy.EnvelopeId == envelope.Id ? ref redelivered : ref duplicated);
                return;
            }

            copy.Delivered = true;
            copy.EnvelopeId = envelope.Id;
            if (copy.Voided)
            {
                // The device got it before its unlink closed the socket: delivered after all.
                copy.Voided = false;
            }
            else if (copy.Expected)
            {
                leftPending = true;
            }
        }

        Interlocked.Increment(ref delivered);
        if (message.Measured)
        {
            latencies.Record(Operations.Deliver, message.Scheduled, timestamp);
        }

        if (leftPending)
        {
            if (ledgers.TryGetValue(at, out var ledger))
            {
                lock (ledger.Gate)
                {
                    ledger.Pending.Remove(message.Id);
                }
            }

            DecrementOutstanding();
        }
    }

    /// <summary>The device was unlinked (its queue purged): copies promised to it and not yet arrived are voided.</summary>
    public void DeviceRemoved(DeviceKey key)
    {
        var ledger = ledgers.GetOrAdd(key, _ => new DeviceLedger());
        List<long> pending;
        lock (ledger.Gate)
        {
            ledger.Removed = true;
            pending = [.. ledger.Pending];
            ledger.Pending.Clear();
        }

        foreach (var id in pending)
        {
            if (messages.TryGetValue(id, out var message))
            {
                Void(message, key);
            }
        }
    }

    /// <summary>Waits until every promised copy arrived or was voided; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitDrainedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (Outstanding > 0)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref drained, waiter);
            if (Outstanding == 0)
            {
                break;
            }

            try
            {
                await waiter.Task.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        return true;
    }

    public EnvelopeTally Tally()
    {
        long expected = 0, expectedSync = 0, deliveredDirect = 0, deliveredSync = 0, lost = 0, voided = 0, withoutAcknowledgement = 0, unknown = 0;
        var lostSamples = new List<string>();
        foreach (var message in messages.Values.OrderBy(m => m.Id))
        {
            lock (message.Gate)
            {
                foreach (var copy in message.Copies)
                {
                    if (!copy.Expected)
                    {
                        withoutAcknowledgement += copy.Delivered ? 1 : 0;
                        continue;
                    }

                    expected++;
                    expectedSync += copy.Kind == CopyKind.Sync ? 1 : 0;
                    if (copy.Delivered)
                    {
                        _ = copy.Kind == CopyKind.Direct ? deliveredDirect++ : deliveredSync++;
                    }
                    else if (copy.Voided)
                    {
                        voided++;
                    }
                    else if (!known.ContainsKey(copy.Device))
                    {
                        unknown++;
                    }
                    else
                    {
                        lost++;
                        if (lostSamples.Count < MaxLostSamples)
                        {
                            lostSamples.Add($"message {message.Id} from {message.SenderAccount}.{message.SenderDevice} to account #{copy.Device.Account} device {copy.Device.DeviceId} ({copy.Kind})");
                        }
                    }
                }
            }
        }

        return new EnvelopeTally
        {
            Messages = messages.Count,
            Sent = Interlocked.Read(ref sent),
            Acknowledged = expected,
            AcknowledgedSync = expectedSync,
            Delivered = deliveredDirect + deliveredSync,
            DeliveredDirect = deliveredDirect,
            DeliveredSync = deliveredSync,
            Duplicated = Interlocked.Read(ref duplicated),
            Redelivered = Interlocked.Read(ref redelivered),
            Lost = lost,
            Voided = voided,
            ToUnknownDevices = unknown,
            DeliveredWithoutAcknowledgement = withoutAcknowledgement,
            Unexpected = Interlocked.Read(ref unexpected),
            Corrupted = Interlocked.Read(ref corrupted),
            Misattributed = Interlocked.Read(ref misattributed),
            Notices = Interlocked.Read(ref notices),
            LostSamples = lostSamples,
        };
    }

    private void Void(TrackedMessage message, DeviceKey key)
    {
        lock (message.Gate)
        {
            var copy = message.Find(key);
            if (copy is null || !copy.Expected || copy.Delivered || copy.Voided)
            {
                return;
            }

            copy.Voided = true;
        }

        DecrementOutstanding();
    }

    private void DecrementOutstanding()
    {
        if (Interlocked.Decrement(ref outstanding) == 0)
        {
            Volatile.Read(ref drained).TrySetResult();
        }
    }

    private sealed class DeviceLedger
    {
        public Lock Gate { get; } = new();

        public HashSet<long> Pending { get; } = [];

        public bool Removed { get; set; }
    }
}

/// <summary>One logical message: its copies, by device.</summary>
internal sealed class TrackedMessage(long id, long scheduled, bool measured, string senderAccount, int senderDevice)
{
    public long Id { get; } = id;

    /// <summary>When it was meant to be sent (open loop: the schedule; closed loop: when it started), a <see cref="System.Diagnostics.Stopwatch"/> timestamp.</summary>
    public long Scheduled { get; } = scheduled;

    /// <summary>Outside the warm-up: its latencies count.</summary>
    public bool Measured { get; } = measured;

    public string SenderAccount { get; } = senderAccount;

    public int SenderDevice { get; } = senderDevice;

    internal Lock Gate { get; } = new();

    internal List<Copy> Copies { get; } = new(4);

    internal Copy? Find(DeviceKey device)
    {
        foreach (var copy in Copies)
        {
            if (copy.Device == device)
            {
                return copy;
            }
        }

        return null;
    }

    internal Copy Add(DeviceKey device)
    {
        var copy = new Copy(device);
        Copies.Add(copy);
        return copy;
    }

    internal sealed class Copy(DeviceKey device)
    {
        public DeviceKey Device { get; } = device;

        public CopyKind Kind { get; set; }

        public bool Expected { get; set; }

        public bool Delivered { get; set; }

        public bool Voided { get; set; }

        public Guid EnvelopeId { get; set; }
    }
}

/// <summary>The final count of copies.</summary>
internal sealed record EnvelopeTally
{
    public long Messages { get; init; }

    /// <summary>Copies named by the last attempt of every send, whatever its outcome.</summary>
    public long Sent { get; init; }

    /// <summary>Copies promised by a 200: the ones that must arrive.</summary>
    public long Acknowledged { get; init; }

    public long AcknowledgedSync { get; init; }

    /// <summary>Promised copies that arrived.</summary>
    public long Delivered { get; init; }

    public long DeliveredDirect { get; init; }

    public long DeliveredSync { get; init; }

    /// <summary>Acks the devices sent (filled in by the run).</summary>
    public long Acked { get; init; }

    /// <summary>A second envelope (another envelope id) for a copy that had arrived: a server bug.</summary>
    public long Duplicated { get; init; }

    /// <summary>The same envelope again (after a reconnect), dropped by the SDK or seen here: expected, not an error.</summary>
    public long Redelivered { get; init; }

    /// <summary>Promised copies for a device still linked that never arrived.</summary>
    public long Lost { get; init; }

    /// <summary>Promised copies for a device unlinked before they arrived.</summary>
    public long Voided { get; init; }

    /// <summary>
    /// Promised copies for a device the server listed (after a 409) but this run never made: a link whose answer was
    /// lost and that it could not find afterwards. Nobody connects as that device, so nothing can arrive; not a loss.
    /// </summary>
    public long ToUnknownDevices { get; init; }

    /// <summary>Copies that arrived for a send that never got its 200 (a timeout whose request was stored after all).</summary>
    public long DeliveredWithoutAcknowledgement { get; init; }

    /// <summary>Envelopes that name no message of this run.</summary>
    public long Unexpected { get; init; }

    /// <summary>Copies whose content was not the bytes sent.</summary>
    public long Corrupted { get; init; }

    /// <summary>Copies with the wrong source or destination device.</summary>
    public long Misattributed { get; init; }

    /// <summary>Server notices (envelope type 0, e.g. missed calls).</summary>
    public long Notices { get; init; }

    public IReadOnlyList<string> LostSamples { get; init; } = [];
}
