using System.Diagnostics;
using Cluster.LoadTest.CommandLine;
using Cluster.LoadTest.Progress;

namespace Cluster.LoadTest.Load;

/// <summary>One operation of a scenario: its sequence number (from 1), when it was meant to start, and whether it is past the warm-up.</summary>
/// <returns>Whether the operation succeeded.</returns>
internal delegate Task<bool> Operation(long sequence, long intendedStart, bool measured, CancellationToken cancellationToken);

/// <summary>Where the measured part of the load began and ended (Stopwatch timestamps).</summary>
internal sealed record LoadWindow(long MeasuredStart, long MeasuredEnd, long Operations, long MeasuredOperations, double MaxScheduleLagMs)
{
    public TimeSpan Measured => MeasuredEnd > MeasuredStart ? Stopwatch.GetElapsedTime(MeasuredStart, MeasuredEnd) : TimeSpan.Zero;
}

/// <summary>
/// Drives a scenario's operations for the warm-up and then the measured duration, and at most <c>--count</c> of them.
/// Open loop: operation i is due at start + i / rate whatever happened before, and its latency counts from then, so a
/// slow server cannot hide its slowness by slowing the load (no coordinated omission); at most <c>--max-in-flight</c>
/// run at once, and any wait for a slot shows in the latencies. Closed loop: C callers, each starting its next
/// operation when the last one ended.
/// </summary>
internal sealed class LoadDriver(LoadTestOptions options, RunStatus status)
{
    public async Task<LoadWindow> RunAsync(Operation operation, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var measuredStart = start + Ticks(options.Warmup);
        var end = measuredStart + Ticks(options.Duration);
        var limit = options.Count ?? long.MaxValue;
        status.Phase = options.Warmup > TimeSpan.Zero ? "warm-up" : "load";
        using var phase = new Timer(_ => status.Phase = "load", null, options.Warmup, Timeout.InfiniteTimeSpan);
        var (operations, measured, lag) = options.OpenLoop
            ? await OpenLoopAsync(operation, start, measuredStart, end, limit, cancellationToken)
            : await ClosedLoopAsync(operation, measuredStart, end, limit, cancellationToken);
        var measuredEnd = Math.Min(Stopwatch.GetTimestamp(), end);
        return new LoadWindow(measuredStart, Math.Max(measuredEnd, measuredStart), operations, measured, lag);
    }

    private async Task<(long Operations, long Measured, double MaxLagMs)> OpenLoopAsync(
        Operation operation, long start, long measuredStart, long end, long limit, CancellationToken cancellationToken)
    {
        var interval = Stopwatch.Frequency / options.EffectiveRate;
        using var slots = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        var running = new InFlight();
        long sequence = 0, measured = 0, maxLag = 0;
        try
        {
            while (sequence < limit)
            {
                var due = start + (long)(sequence * interval);
                if (due >= end)
                {
                    break;
                }

                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // Never early: an operation started before it is due would report less than its latency.
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait * 1000.0 / Stopwatch.Frequency)), cancellationToken);
                }

                await slots.WaitAsync(cancellationToken);
                maxLag = Math.Max(maxLag, Stopwatch.GetTimestamp() - due);
                sequence++;
                var isMeasured = due >= measuredStart;
                measured += isMeasured ? 1 : 0;
                running.Add();
                _ = RunOneAsync(operation, sequence, due, isMeasured, slots, cancellationToken).ContinueWith(
                    _ => running.Done(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await running.WhenAllDoneAsync();
        return (sequence, measured, maxLag * 1000.0 / Stopwatch.Frequency);
    }

    private async Task<(long Operations, long Measured, double MaxLagMs)> ClosedLoopAsync(
        Operation operation, long measuredStart, long end, long limit, CancellationToken cancellationToken)
    {
        long sequence = 0, measured = 0;
        var callers = Enumerable.Range(0, options.Concurrency ?? 1).Select(_ => Task.Run(
            async () =>
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    var now = Stopwatch.GetTimestamp();
                    if (now >= end)
                    {
                        return;
                    }

                    var next = Interlocked.Increment(ref sequence);
                    if (next > limit)
                    {
                        return;
                    }

                    var isMeasured = now >= measuredStart;
                    if (isMeasured)
                    {
                        Interlocked.Increment(ref measured);
                    }

                    await RunOneAsync(operation, next, now, isMeasured, null, cancellationToken);
                }
            },
            CancellationToken.None));
        await Task.WhenAll(callers);
        return (Math.Min(Interlocked.Read(ref sequence), limit), measured, 0);
    }

    private async Task RunOneAsync(Operation operation, long sequence, long intendedStart, bool measured, SemaphoreSlim? slots, CancellationToken cancellationToken)
    {
        status.OperationStarted();
        var succeeded = false;
        try
        {
            succeeded = await operation(sequence, intendedStart, measured, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A scenario handles the failures a request can have; anything else is counted, not allowed to end the run.
            status.Error(Failures.Kind("operation", ex));
        }
        finally
        {
            status.OperationEnded(succeeded);
            slots?.Release();
        }
    }

    /// <summary>Counts operations in flight; completes once the producer is done and all of them ended.</summary>
    private sealed class InFlight
    {
        private readonly TaskCompletionSource allDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long count = 1;

        public void Add() => Interlocked.Increment(ref count);

        public void Done()
        {
            if (Interlocked.Decrement(ref count) == 0)
            {
                allDone.TrySetResult();
            }
        }

        public Task WhenAllDoneAsync()
        {
            Done();
            return allDone.Task;
        }
    }

    private static long Ticks(TimeSpan duration) => (long)(duration.TotalSeconds * Stopwatch.Frequency);
}
