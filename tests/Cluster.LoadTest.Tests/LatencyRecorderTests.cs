using Cluster.LoadTest.Latency;

namespace Cluster.LoadTest.Tests;

public sealed class LatencyRecorderTests
{
    /// <summary>
    /// Many threads record while the sampler takes intervals: no increment is lost (an interval's total agrees with its
    /// counts, so its percentiles can be read), and the run's count is exactly the sum of the intervals taken. The writers
    /// run until the sampler has taken its intervals, and the sampler takes each only after it has seen new writes, so
    /// every interval is taken while writers are mid-stream however the machine schedules them.
    /// </summary>
    [Fact]
    public async Task Record_ManyThreadsWhileSampling_NoValueLostAndRunTotalIsTheSumOfTheIntervals()
    {
        const int Writers = 8;
        const int Intervals = 25;
        var recorder = new LatencyRecorder();
        var written = new long[Writers];
        var stop = 0;
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Factory.StartNew(
            () =>
            {
                for (long i = 0; Volatile.Read(ref stop) == 0; i++)
                {
                    recorder.Record(Operations.Deliver, TimeSpan.FromMicroseconds(1 + ((i * 7919L) + w) % 50_000));
                    Interlocked.Increment(ref written[w]);
                }
            },
            TestContext.Current.CancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();

        long sampled = 0;
        long seen = 0;
        for (var taken = 0; taken < Intervals; taken++)
        {
            // Wait for writes beyond those seen at the previous take, so the writers are running across this one.
            long now;
            while ((now = SumOf(written)) < seen + 1_000)
            {
                await Task.Delay(1, TestContext.Current.CancellationToken);
            }

            seen = now;
            sampled += TakeAndCheck(recorder);
        }

        Volatile.Write(ref stop, 1);
        await Task.WhenAll(writers);
        sampled += TakeAndCheck(recorder);

        var total = written.Sum();
        Assert.True(total > Intervals * 1_000L, $"{total} values written");
        Assert.Equal(total, sampled);
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

    private static long SumOf(long[] counters)
    {
        long sum = 0;
        for (var i = 0; i < counters.Length; i++)
        {
            sum += Interlocked.Read(ref counters[i]);
        }

        return sum;
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
