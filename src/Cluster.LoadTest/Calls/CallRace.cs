using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Latency;

namespace Cluster.LoadTest.Calls;

/// <summary>
/// One call as the run sees it: the caller, the callee devices ringing, each one's answer and what it was told.
/// Events may come before the caller learns the call id (an offer can beat the 201), so a race can exist before it is
/// attached to its call. It is complete once the caller was told who answered and every callee device either won or
/// was told another device answered (and its own answer, if it made one, was refused).
/// </summary>
internal sealed class CallRace(string callId)
{
    private readonly Lock gate = new();
    private readonly Dictionary<DeviceKey, Callee> callees = [];
    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> violations = [];
    private LatencyRecorder? latencies;
    private bool attached;
    private bool measured;
    private long startedAt;
    private int? announcedWinner;
    private long announcedAt;
    private (long Started, long Ended)? answer;

    public string CallId { get; } = callId;

    public Task Completion => completion.Task;

    public void Attach(IReadOnlyList<SimDevice> ringing, long started, bool isMeasured, LatencyRecorder recorder)
    {
        lock (gate)
        {
            attached = true;
            startedAt = started;
            measured = isMeasured;
            latencies = recorder;
            foreach (var device in ringing)
            {
                var callee = Get(device.Key);
                callee.Ringing = true;
                if (callee.OfferedAt != 0)
                {
                    RecordLatency(Operations.Ring, started, callee.OfferedAt);
                }
            }

            if (announcedWinner is not null)
            {
                RecordLatency(Operations.RingToAnswer, started, announcedAt);
            }

            // The winner's 200 can beat the caller's 201 too.
            if (answer is var (answerStarted, answered))
            {
                RecordLatency(Operations.Answer, answerStarted, answered);
            }

            CheckComplete();
        }
    }

    public void Offered(DeviceKey device, long timestamp)
    {
        lock (gate)
        {
            var callee = Get(device);
            if (callee.OfferedAt != 0)
            {
                violations.Add("a device was offered the same call twice");
                return;
            }

            callee.OfferedAt = timestamp;
            if (attached)
            {
                RecordLatency(Operations.Ring, startedAt, timestamp);
            }
        }
    }

    /// <summary>Whether the device should still answer: false once it was told another device answered (it stops ringing).</summary>
    public bool ShouldAnswer(DeviceKey device)
    {
        lock (gate)
        {
            var callee = Get(device);
            if (callee.Elsewhere)
            {
                callee.StoodDown = true;
                CheckComplete();
                return false;
            }

            return true;
        }
    }

    public void Won(DeviceKey device, long answerStarted, long answered)
    {
        lock (gate)
        {
            var callee = Get(device);
            callee.Won = true;
            if (callee.Elsewhere)
            {
                violations.Add("the winning device was told the call was answered elsewhere");
            }

            if (attached)
            {
                RecordLatency(Operations.Answer, answerStarted, answered);
            }
            else
            {
                answer = (answerStarted, answered);
            }

            CheckComplete();
        }
    }

    public void Refused(DeviceKey device)
    {
        lock (gate)
        {
            Get(device).Refused = true;
            CheckComplete();
        }
    }

    public void AnswerFailed(DeviceKey device, string kind)
    {
        lock (gate)
        {
            Get(device).Refused = true;
            violations.Add($"an answer failed: {kind}");
            CheckComplete();
        }
    }

    public void Elsewhere(DeviceKey device)
    {
        lock (gate)
        {
            var callee = Get(device);
            if (callee.Won)
            {
                violations.Add("the winning device was told the call was answered elsewhere");
            }

            callee.Elsewhere = true;
            CheckComplete();
        }
    }

    public void CallerTold(int byDevice, long timestamp)
    {
        lock (gate)
        {
            if (announcedWinner is not null)
            {
                violations.Add("the caller was told twice that the call was answered");
                return;
            }

            announcedWinner = byDevice;
            announcedAt = timestamp;
            if (attached)
            {
                RecordLatency(Operations.RingToAnswer, startedAt, timestamp);
            }

            CheckComplete();
        }
    }

    /// <summary>What went wrong with this call (empty when nothing did); <paramref name="completed"/> false when it timed out.</summary>
    public CallOutcome Judge(bool completed)
    {
        lock (gate)
        {
            var found = new List<string>(violations);
            var ringing = callees.Values.Where(c => c.Ringing).ToList();
            var winners = ringing.Where(c => c.Won).ToList();
            if (winners.Count != 1)
            {
                found.Add(winners.Count == 0 ? "no answer won" : $"{winners.Count} answers won");
            }

            if (announcedWinner is null)
            {
                found.Add("the caller was not told the call was answered");
            }
            else if (winners.Count == 1 && winners[0].Device.DeviceId != announcedWinner)
            {
                found.Add("the caller was told another device answered than the one that won");
            }

            if (ringing.Any(c => c.OfferedAt == 0))
            {
                found.Add("a connected callee device was not offered the call");
            }

            if (winners.Count == 1 && ringing.Any(c => !c.Won && !c.Elsewhere))
            {
                found.Add("a losing device was not told the call was answered elsewhere");
            }

            if (!completed && found.Count == 0)
            {
                found.Add("the call did not complete in time");
            }

            return new CallOutcome(
                found,
                Answered: winners.Count,
                Refused: ringing.Count(c => c.Refused),
                StoodDown: ringing.Count(c => c.StoodDown));
        }
    }

    private Callee Get(DeviceKey device)
    {
        if (!callees.TryGetValue(device, out var callee))
        {
            callee = new Callee(device);
            callees[device] = callee;
        }

        return callee;
    }

    private void CheckComplete()
    {
        if (attached && announcedWinner is not null && callees.Values.Where(c => c.Ringing).All(c => c.Won || c.Elsewhere && (c.StoodDown || c.Refused)))
        {
            completion.TrySetResult();
        }
    }

    private void RecordLatency(string operation, long from, long to)
    {
        if (measured)
        {
            latencies?.Record(operation, from, to);
        }
    }

    private sealed class Callee(DeviceKey device)
    {
        public DeviceKey Device { get; } = device;

        public bool Ringing { get; set; }

        public long OfferedAt { get; set; }

        public bool Won { get; set; }

        public bool Refused { get; set; }

        public bool Elsewhere { get; set; }

        public bool StoodDown { get; set; }
    }
}

internal sealed record CallOutcome(IReadOnlyList<string> Violations, int Answered, int Refused, int StoodDown);
