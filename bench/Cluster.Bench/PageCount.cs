using System.Globalization;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Microsoft.Data.Sqlite;

namespace Cluster.Bench;

/// <summary>
/// Pages written per envelope life on SQLite, counted rather than timed: the real store, driven as device grains drive
/// it (each round appends a few envelopes to every device, one call per device, then acks the oldest as many of every
/// device, one call per device, keeping each queue at a steady depth), then an expiry sweep. A reader holds a snapshot
/// the whole time, so no checkpoint can restart the WAL: every frame a commit writes stays in the file, and the WAL's
/// growth divided by the frame size is the number of pages written.
/// </summary>
internal static class PageCount
{
    public static async Task<int> RunAsync(BenchOptions options, string directory)
    {
        await using var database = await BenchDatabase.CreateAsync(StorageKind.Sqlite, options, directory);
        var devices = options.PageDevices;
        var perRound = options.PageRows;
        var workload = new Workload(devices, options.EnvelopeBytes);
        var queued = Enumerable.Range(0, devices).Select(_ => new Queue<InboxRow>()).ToArray();
        using var stats = new CommitStats();
        await using var store = (IAsyncDisposable)database.CreateStore(options, stats);
        var inbox = (IInboxStore)store;

        // The steady depth: every device holds PageDepth envelopes before anything is counted.
        for (var filled = 0; filled < options.PageDepth; filled += perRound)
        {
            await AppendAsync(inbox, workload, queued, [.. Enumerable.Range(0, devices)], perRound);
        }

        await using var pin = new SqliteConnection(database.ConnectionString);
        await pin.OpenAsync();
        var pageSize = await ScalarAsync(pin, "PRAGMA page_size;");
        await using (var truncate = pin.CreateCommand())
        {
            truncate.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await truncate.ExecuteNonQueryAsync();
        }

        await using var snapshot = pin.BeginTransaction(deferred: true);
        await ScalarAsync(pin, "SELECT count(*) FROM inbox;", snapshot);
        var wal = database.Sqlite!.DatabasePath + "-wal";
        var frame = pageSize + 24;

        long Frames() => Math.Max(0, new FileInfo(wal).Length - 32) / frame;

        var (commitsBefore, _) = stats.Snapshot();
        var framesBefore = Frames();
        for (var round = 0; round < options.PageRounds; round++)
        {
            // PageBatch devices at a time: their appends go into one group commit, then their acks into another.
            for (var first = 0; first < devices; first += options.PageBatch)
            {
                var chunk = Enumerable.Range(first, Math.Min(options.PageBatch, devices - first)).ToArray();
                await AppendAsync(inbox, workload, queued, chunk, perRound);
                await Task.WhenAll(chunk.Select(device =>
                {
                    var ids = new Guid[perRound];
                    InboxRow? last = null;
                    for (var i = 0; i < perRound; i++)
                    {
                        last = queued[device].Dequeue();
                        ids[i] = last.Id;
                    }

                    return inbox.DeleteAsync(last!.Device, ids);
                }));
            }
        }

        var (commitsAfter, _) = stats.Snapshot();
        var framesAfter = Frames();
        var lives = (double)devices * perRound * options.PageRounds;

        // The sweep: one expired envelope per device, then one sweep call deletes them.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Task.WhenAll(queued.Select((_, device) =>
            inbox.AppendAsync([workload.NextRow(device) with { ExpiresAt = now - 1000 }])));
        var framesSweep = Frames();
        var (commitsSweep, _) = stats.Snapshot();
        var swept = await inbox.DeleteExpiredAsync(now, devices * 2);
        var sweepFrames = Frames() - framesSweep;
        var (commitsEnd, _) = stats.Snapshot();
        await snapshot.RollbackAsync();

        var layout = await ScalarTextAsync(pin, "SELECT group_concat(name, ', ') FROM (SELECT name FROM sqlite_schema WHERE tbl_name = 'inbox' ORDER BY name);");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"inbox b-trees: {layout}; page {pageSize} B, envelope {options.EnvelopeBytes} B"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{devices} devices at depth {options.PageDepth}, {options.PageRounds} rounds of {perRound} appended and {perRound} acked per device, {options.PageBatch} devices per group commit: {lives:F0} envelope lives"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"pages written per envelope life (append + ack): {(framesAfter - framesBefore) / lives:F2}   commits per envelope life: {(commitsAfter - commitsBefore) / lives:F3}   pages per commit: {(framesAfter - framesBefore) / (double)Math.Max(1, commitsAfter - commitsBefore):F1}"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"expiry sweep of {swept} envelopes: {sweepFrames} pages in {commitsEnd - commitsSweep} commit(s): {sweepFrames / (double)Math.Max(1, swept):F2} pages per envelope"));
        return 0;
    }

    private static async Task AppendAsync(IInboxStore inbox, Workload workload, Queue<InboxRow>[] queued, int[] devices, int perRound) =>
        await Task.WhenAll(devices.Select(device =>
        {
            var queue = queued[device];
            var rows = new InboxRow[perRound];
            for (var i = 0; i < perRound; i++)
            {
                rows[i] = workload.NextRow(device);
                queue.Enqueue(rows[i]);
            }

            return inbox.AppendAsync(rows);
        }));

    private static async Task<long> ScalarAsync(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string> ScalarTextAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
