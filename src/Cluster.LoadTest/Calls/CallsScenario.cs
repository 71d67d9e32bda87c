using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Cluster.Client.Calls;
using Cluster.Client.Messaging;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Latency;
using Cluster.LoadTest.Load;
using Cluster.LoadTest.Reporting;

namespace Cluster.LoadTest.Calls;

/// <summary>
/// Each operation rings every device of a random account from another account's primary. Each callee device answers
/// after a random delay of up to <c>--answer-delay</c> unless it was already told the call was answered elsewhere;
/// exactly one answer must win (200), the others must be refused with 409 <c>call_not_ringing</c>, every losing device
/// must hear <c>callAnsweredElsewhere</c> and the caller <c>callAnswered</c> naming the winner. Then the caller hangs up.
/// </summary>
internal sealed class CallsScenario : IScenario, IDeviceListener
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(20);

    private readonly ConcurrentDictionary<string, CallRace> races = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> finished = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> violationKinds = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> violationSamples = new();
    private RunContext? context;
    private Population? population;
    private long started;
    private long startFailed;
    private long completed;
    private long answered;
    private long refused;
    private long stoodDown;
    private long violating;

    private RunContext Context => context ?? throw new InvalidOperationException("not running");

    public async Task<ScenarioResult> RunAsync(RunContext run, CancellationToken cancellationToken)
    {
        context = run;
        var options = run.Options;
        population = await Population.CreateAsync(run, cancellationToken);
        await using (population)
        {
            var connectStarted = Stopwatch.GetTimestamp();
            run.Status.Phase = "connecting";
            var connectFailures = await population.ConnectAsync(population.Devices, this, options.ConnectConcurrency ?? 64, TimeSpan.FromSeconds(60), cancellationToken);
            var setup = SetupResult.Of(population, connectFailures, Stopwatch.GetElapsedTime(connectStarted));
            if (population.Accounts.Count < 2)
            {
                return new ScenarioResult { Setup = setup };
            }

            run.Status.Extra = () => [("calls ringing", races.Count), ("race violations", Interlocked.Read(ref violating))];
            var window = await new LoadDriver(options, run.Status).RunAsync(CallAsync, cancellationToken);
            return new ScenarioResult
            {
                Setup = setup,
                Window = window,
                Calls = new CallTally
                {
                    Started = Interlocked.Read(ref started),
                    StartFailed = Interlocked.Read(ref startFailed),
                    Completed = Interlocked.Read(ref completed),
                    Answered = Interlocked.Read(ref answered),
                    Refused = Interlocked.Read(ref refused),
                    StoodDown = Interlocked.Read(ref stoodDown),
                    Violating = Interlocked.Read(ref violating),
                    Violations = new SortedDictionary<string, long>(violationKinds, StringComparer.Ordinal),
                },
                GatedOperations = [Operations.CallStart, Operations.Ring, Operations.Answer],
                Violations = [.. violationSamples.Take(20)],
            };
        }
    }

    public void OnEnvelope(SimDevice device, Envelope envelope, long timestamp)
    {
    }

    public void OnEvent(SimDevice device, DeviceEvent deviceEvent, long timestamp)
    {
        switch (deviceEvent)
        {
            case CallOffered offer when !finished.ContainsKey(offer.CallId):
                var offered = races.GetOrAdd(offer.CallId, id => new CallRace(id));
                offered.Offered(device.Key, timestamp);
                _ = AnswerAsync(offered, device);
                break;
            case CallAnswered answer when races.TryGetValue(answer.CallId, out var answered):
                answered.CallerTold(answer.ByDevice, timestamp);
                break;
            case CallAnsweredElsewhere elsewhere when races.TryGetValue(elsewhere.CallId, out var lost):
                lost.Elsewhere(device.Key);
                break;
        }
    }

    private async Task<bool> CallAsync(long sequence, long intendedStart, bool measured, CancellationToken cancellationToken)
    {
        var run = Context;
        var random = run.NewRandom(sequence);
        var (from, to) = population!.PickPair(random);

        var caller = from.Primary;
        var ringing = to.Devices;
        var offers = ringing.Select(d => new CallOffer(d.DeviceId, d.Keys.RegistrationId, RandomNumberGenerator.GetBytes(64))).ToList();
        var callStarted = Stopwatch.GetTimestamp();
        string callId;
        try
        {
            // Not retried: a call that was created but whose answer was lost would ring twice.
            callId = await caller.Client(run.Gateways).StartCallAsync(to.AccountId, offers, cancellationToken);
        }
        catch (Exception ex) when (Failures.IsRequestFailure(ex, cancellationToken))
        {
            run.Status.Error(Failures.Kind("call", ex));
            Interlocked.Increment(ref startFailed);
            return false;
        }

        Interlocked.Increment(ref started);
        if (measured)
        {
            run.Latencies.Record(Operations.CallStart, intendedStart, Stopwatch.GetTimestamp());
        }

        var race = races.GetOrAdd(callId, id => new CallRace(id));
        race.Attach(ringing, callStarted, measured, run.Latencies);
        var inTime = true;
        try
        {
            await race.Completion.WaitAsync(CallTimeout + run.Options.AnswerDelay, cancellationToken);
        }
        catch (TimeoutException)
        {
            inTime = false;
        }

        finished[callId] = 0;
        races.TryRemove(callId, out _);
        var outcome = race.Judge(inTime);
        Interlocked.Add(ref answered, outcome.Answered);
        Interlocked.Add(ref refused, outcome.Refused);
        Interlocked.Add(ref stoodDown, outcome.StoodDown);
        if (outcome.Violations.Count == 0)
        {
            Interlocked.Increment(ref completed);
        }
        else
        {
            Interlocked.Increment(ref violating);
            foreach (var violation in outcome.Violations)
            {
                violationKinds.AddOrUpdate(violation, 1, (_, n) => n + 1);
                if (violationSamples.Count < 20)
                {
                    violationSamples.Enqueue($"call {callId} from {caller} to {to.AccountId}: {violation}");
                }
            }
        }

        try
        {
            await caller.Client(run.Gateways).HangUpAsync(callId, cancellationToken);
        }
        catch (Exception ex) when (Failures.IsRequestFailure(ex, cancellationToken))
        {
            run.Status.Error(Failures.Kind("hangup", ex));
        }

        return outcome.Violations.Count == 0;
    }

    private async Task AnswerAsync(CallRace race, SimDevice device)
    {
        var run = Context;
        await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * run.Options.AnswerDelay.TotalMilliseconds));
        if (!race.ShouldAnswer(device.Key))
        {
            return;
        }

        var answerStarted = Stopwatch.GetTimestamp();
        try
        {
            await device.Client(run.Gateways).AnswerCallAsync(race.CallId, RandomNumberGenerator.GetBytes(64));
            race.Won(device.Key, answerStarted, Stopwatch.GetTimestamp());
        }
        catch (Exception ex) when (Failures.Is(ex, HttpStatusCode.Conflict, "call_not_ringing"))
        {
            race.Refused(device.Key);
        }
        catch (Exception ex) when (Failures.IsRequestFailure(ex, CancellationToken.None))
        {
            run.Status.Error(Failures.Kind("answer", ex));
            race.AnswerFailed(device.Key, Failures.Kind("answer", ex));
        }
    }
}

/// <summary>What the calls scenario counted.</summary>
internal sealed record CallTally
{
    public long Started { get; init; }

    public long StartFailed { get; init; }

    /// <summary>Calls where everything happened as it must.</summary>
    public long Completed { get; init; }

    /// <summary>Answers that won (200): one per call.</summary>
    public long Answered { get; init; }

    /// <summary>Answers refused with 409 call_not_ringing: another device had won.</summary>
    public long Refused { get; init; }

    /// <summary>Devices that did not answer because they had been told another device answered.</summary>
    public long StoodDown { get; init; }

    /// <summary>Calls with at least one violation.</summary>
    public long Violating { get; init; }

    public IReadOnlyDictionary<string, long> Violations { get; init; } = new Dictionary<string, long>();
}
