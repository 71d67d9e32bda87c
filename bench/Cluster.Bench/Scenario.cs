using Cluster.Persistence.Inbox;

namespace Cluster.Bench;

/// <summary>
/// One benchmark scenario, run on a fresh database. To add one (e.g. end-to-end fan-out through the HTTP API), derive
/// from this class and list it in <see cref="All"/>.
/// </summary>
internal abstract class Scenario
{
    public static readonly IReadOnlyList<Scenario> All =
    [
        new RawScenario("raw-insert", cycle: false),
        new RawScenario("raw-cycle", cycle: true),
        new AppendScenario("append", oneDevice: false, deep: false),
        new AppendScenario("append-empty", oneDevice: true, deep: false),
        new AppendScenario("append-deep", oneDevice: true, deep: true),
        new AckScenario(),
    ];

    public static IEnumerable<string> Names => All.Select(scenario => scenario.Name);

    public abstract string Name { get; }

    /// <summary>One line for the report: what is measured.</summary>
    public abstract string Description(BenchOptions options);

    /// <summary>The raw scenario this one is a fraction of, if any.</summary>
    public virtual string? Baseline => null;

    public abstract Task<Measurement> RunAsync(BenchDatabase database, BenchOptions options);
}

/// <summary>Devices, their next sequence numbers and one envelope body shared by every row (byte arrays are never mutated).</summary>
internal sealed class Workload
{
    private readonly string[] devices;
    private readonly long[] sequences;
    private readonly byte[] envelope;
    private readonly long expiresAt = DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeMilliseconds();

    public Workload(int devices, int envelopeBytes)
    {
        this.devices = [.. Enumerable.Range(0, devices).Select(_ => $"{Guid.NewGuid():N}.1")];
        sequences = new long[devices];
        envelope = new byte[envelopeBytes];
        Random.Shared.NextBytes(envelope);
    }

    public int RandomDevice() => Random.Shared.Next(devices.Length);

    public InboxRow NextRow(int device) =>
        new(devices[device], Interlocked.Increment(ref sequences[device]), Guid.NewGuid(), expiresAt, envelope);

    public InboxRow[] RandomRows(int count)
    {
        var rows = new InboxRow[count];
        for (var i = 0; i < count; i++)
        {
            rows[i] = NextRow(RandomDevice());
        }

        return rows;
    }
}

internal sealed class RawScenario(string name, bool cycle) : Scenario
{
    public override string Name => name;

    public override string Description(BenchOptions options) => cycle
        ? $"raw limit: {options.RawWriters} connection(s), each transaction inserts {options.RawBatch} rows and deletes the {options.RawBatch} its connection inserted before (envelopes/s through the table)"
        : $"raw limit: {options.RawWriters} connection(s), each transaction inserts {options.RawBatch} rows (rows/s)";

    public override async Task<Measurement> RunAsync(BenchDatabase database, BenchOptions options)
    {
        var workload = new Workload(options.Devices, options.EnvelopeBytes);
        var writers = new RawWriter[options.RawWriters];
        var previous = new IReadOnlyList<InboxRow>[writers.Length];
        for (var i = 0; i < writers.Length; i++)
        {
            writers[i] = await RawWriter.CreateAsync(database);
            previous[i] = [];
        }

        try
        {
            return await Load.RunAsync(writers.Length, options.Warmup, options.Duration, cycle ? "envelopes/s" : "rows/s", async writer =>
            {
                var rows = workload.RandomRows(options.RawBatch);
                await writers[writer].CommitAsync(rows, cycle ? previous[writer] : []);
                previous[writer] = rows;
                return rows.Length;
            });
        }
        finally
        {
            foreach (var writer in writers)
            {
                await writer.DisposeAsync();
            }
        }
    }
}

internal sealed class AppendScenario(string name, bool oneDevice, bool deep) : Scenario
{
    public override string Name => name;

    public override string? Baseline => "raw-insert";

    public override string Description(BenchOptions options) => (oneDevice, deep) switch
    {
        (false, _) => $"inbox append: {options.Concurrency} callers, one envelope per call, random devices of {options.Devices}, empty table (rows/s)",
        (true, false) => $"inbox append: {options.Concurrency} callers, one envelope per call, all to one device whose queue is empty (rows/s)",
        (true, true) => $"inbox append: {options.Concurrency} callers, one envelope per call, all to one device with {options.Deep} envelopes queued (rows/s)",
    };

    public override async Task<Measurement> RunAsync(BenchDatabase database, BenchOptions options)
    {
        var workload = new Workload(oneDevice ? 1 : options.Devices, options.EnvelopeBytes);
        using var stats = new CommitStats();
        await using var store = (IAsyncDisposable)database.CreateStore(options, stats);
        var inbox = (IInboxStore)store;
        if (deep)
        {
            for (var filled = 0; filled < options.Deep; filled += 4096)
            {
                var rows = new InboxRow[Math.Min(4096, options.Deep - filled)];
                for (var i = 0; i < rows.Length; i++)
                {
                    rows[i] = workload.NextRow(0);
                }

                await inbox.AppendAsync(rows);
            }

            var depth = await inbox.CountAsync(workload.NextRow(0).Device);
            if (depth < options.Deep)
            {
                throw new InvalidOperationException($"Prefill stored {depth} rows, expected {options.Deep}.");
            }
        }

        return await Load.RunAsync(options.Concurrency, options.Warmup, options.Duration, "rows/s", async _ =>
        {
            await inbox.AppendAsync([workload.NextRow(oneDevice ? 0 : workload.RandomDevice())]);
            return 1;
        }, stats);
    }
}

internal sealed class AckScenario : Scenario
{
    public override string Name => "ack";

    public override string? Baseline => "raw-cycle";

    public override string Description(BenchOptions options) =>
        $"inbox append and ack: {options.Concurrency} callers, each appends one envelope to a random device of {options.Devices} and, at the same time, acks (deletes by id) the one it appended before, as recipients ack while senders send (envelopes/s through the table)";

    public override async Task<Measurement> RunAsync(BenchDatabase database, BenchOptions options)
    {
        var workload = new Workload(options.Devices, options.EnvelopeBytes);
        var previous = new InboxRow?[options.Concurrency];
        using var stats = new CommitStats();
        await using var store = (IAsyncDisposable)database.CreateStore(options, stats);
        var inbox = (IInboxStore)store;
        return await Load.RunAsync(options.Concurrency, options.Warmup, options.Duration, "envelopes/s", async worker =>
        {
            var row = workload.NextRow(workload.RandomDevice());
            var append = inbox.AppendAsync([row]);
            if (previous[worker] is { } acked)
            {
                await Task.WhenAll(append, inbox.DeleteAsync(acked.Device, [acked.Id]));
            }
            else
            {
                await append;
            }

            previous[worker] = row;
            return 1;
        }, stats);
    }
}
