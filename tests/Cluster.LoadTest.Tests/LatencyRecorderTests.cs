using Cluster.LoadTest.Latency;

namespace Cluster.LoadTest.Tests;

public sealed class LatencyRecorderTests
{
    /// <summary>
    /// Many threads record while the sampler takes intervals: no increment is lost (an interval's total agrees with its
    /// counts, so its percentiles can be read), and the run's count is exactly the sum of the intervals taken.
    /// </summary>
    [Fact]
    public async Task Record_ManyThreadsWhileSampling_NoValueLostAndRunTotalIsTheSumOfTheIntervals()
    {
        const int Writers = 8;
        const int PerWriter = 200_000;
        var recorder = new LatencyRecorder();
        using var go = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Factory.StartNew(
            () =>
            {
                go.Wait(TestContext.Current.CancellationToken);
                for (var i = 0; i < PerWriter; i++)
                {
                    recorder.Record(Operations.Deliver, TimeSpan.FromMicroseconds(1 + ((i * 7919L) + w) % 50_000));
                }
            },
            TestContext.Current.CancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();

        long sampled = 0;
        var intervals = 0;
        go.Set();
        while (!writers.All(t => t.IsCompleted))
        {
            sampled += TakeAndCheck(recorder);
            intervals++;
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }

        await Task.WhenAll(writers);
        sampled += TakeAndCheck(recorder);

        Assert.True(intervals > 1, $"{intervals} intervals taken while the writers ran");
        Assert.Equal((long)Writers * PerWriter, sampled);
        Assert.Equal(sampled, recorder.Count(Operations.Deliver));
        Assert.Equal(sampled, recorder.Summaries()[Operations.Deliver].Count);
    }

    /// <summary>A value recorded after the last interval was taken is in neither the timeline nor the run's figures.</summary>
    [Fact]
    public void Record_AfterTheLastInterval_CountsNowhereUntilTaken()
    {
        var recorder = new LatencyRecorder();
        recorder.Record(Operations.Send, TimeSpan.FromMilliseconds(3));
        Assert.Equal(0, recorder.Count(Operations.Send));

        var taken = recorder.TakeIntervals();
        Assert.Equal(1, Assert.Single(taken).Interval.TotalCount);
        Assert.Equal(1, recorder.Count(Operations.Send));

        recorder.Record(Operations.Send, TimeSpan.FromHours(5)); // beyond the highest trackable value: clamped, not thrown
        Assert.Equal(1, recorder.Count(Operations.Send));
        Assert.Equal(1, Assert.Single(recorder.TakeIntervals()).Interval.TotalCount);
        Assert.Equal(2, recorder.Count(Operations.Send));
        var max = recorder.Summaries()[Operations.Send].Max;
        Assert.InRange(max, 3_590_000, 3_610_000); // one hour in ms, within the histogram's three significant digits
    }

    private static long TakeAndCheck(LatencyRecorder recorder)
    {
        long total = 0;
        foreach (var (_, interval) in recorder.TakeIntervals())
        {
            // A torn histogram (its total above the sum of its counts) throws here.
            _ = interval.GetValueAtPercentile(100);
            Assert.Equal(interval.TotalCount, interval.RecordedValues().Sum(v => v.CountAtValueIteratedTo));
            total += interval.TotalCount;
        }

        return total;
    }
}
