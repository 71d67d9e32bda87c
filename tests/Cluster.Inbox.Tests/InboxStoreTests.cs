using System.Data.Common;
using System.Text;
using Cluster.Persistence.Inbox;
using Cluster.Testing;

namespace Cluster.Inbox.Tests;

public sealed class SqliteInboxStoreTests(SqliteInboxFixture fixture) : InboxStoreTests(fixture), IClassFixture<SqliteInboxFixture>;

public sealed class PostgresInboxStoreTests(PostgresInboxFixture fixture) : InboxStoreTests(fixture), IClassFixture<PostgresInboxFixture>;

/// <summary>
/// The <see cref="IInboxStore"/> contract, run against each store: a database per class, a store per test, fresh
/// device ids per test.
/// </summary>
public abstract class InboxStoreTests(InboxDatabaseFixture fixture) : IAsyncLifetime
{
    private const long Now = 1_750_000_000_000;
    private const long Later = Now + 86_400_000;

    private readonly TestMeterFactory meters = new();
    private IInboxStore? store;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private TestDatabase Database => fixture.Database!;

    private IInboxStore Store => store!;

    private ISendReceiptStore Receipts => (ISendReceiptStore)store!;

    public ValueTask InitializeAsync()
    {
        Assert.SkipWhen(fixture.Database is null, PostgresDatabase.SkipReason);
        store = Database.CreateStore(meterFactory: meters);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (this.store is IAsyncDisposable store)
        {
            await store.DisposeAsync();
        }

        meters.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task AppendAsync_RowsOutOfOrder_ReadAsyncReturnsThemInSequenceOrder()
    {
        var device = NewDevice();
        var rows = new[] { Row(device, 3), Row(device, 1), Row(device, 2) };
        await Store.AppendAsync([rows[0]], Cancel);
        await Store.AppendAsync([rows[1], rows[2]], Cancel);

        var read = await Store.ReadAsync(device, 0, 10, Now, Cancel);

        Assert.Equal([rows[1], rows[2], rows[0]], read, RowComparer.Instance);
    }

    [Fact]
    public async Task ReadAsync_AfterSequenceAndLimit_ReturnsTheNextPage()
    {
        var device = NewDevice();
        var rows = Enumerable.Range(1, 5).Select(seq => Row(device, seq)).ToArray();
        await Store.AppendAsync(rows, Cancel);

        var read = await Store.ReadAsync(device, 2, 2, Now, Cancel);

        Assert.Equal([rows[2], rows[3]], read, RowComparer.Instance);
    }

    [Fact]
    public async Task ReadAsync_OtherDevice_ReturnsNothing()
    {
        await Store.AppendAsync([Row(NewDevice(), 1)], Cancel);

        Assert.Empty(await Store.ReadAsync(NewDevice(), 0, 10, Now, Cancel));
    }

    [Fact]
    public async Task AppendAsync_SameIdTwice_StoresItOnce()
    {
        var device = NewDevice();
        var first = Row(device, 1);
        Assert.Equal(1, await Store.AppendAsync([first], Cancel));

        Assert.Equal(0, await Store.AppendAsync([first with { Sequence = 2, Envelope = [9] }], Cancel));
        Assert.Equal(0, await Store.AppendAsync([first, first with { Sequence = 3 }], Cancel));

        Assert.Equal([first], await Store.ReadAsync(device, 0, 10, Now, Cancel), RowComparer.Instance);
        Assert.Equal(1, await Store.CountAsync(device, Cancel));
    }

    [Fact]
    public async Task AppendAsync_SequenceTakenByAnotherId_FaultsThatCallerOnly()
    {
        var device = NewDevice();
        await Store.AppendAsync([Row(device, 1)], Cancel);
        var others = Enumerable.Range(0, 20).Select(_ => Row(NewDevice(), 1)).ToArray();

        Task bad;
        Task[] good;
        await using (await Database.BlockWritersAsync())
        {
            good = others.Take(10).Select(row => Store.AppendAsync([row], Cancel)).ToArray();
            bad = Store.AppendAsync([Row(device, 1)], Cancel);
            good = [.. good, .. others.Skip(10).Select(row => Store.AppendAsync([row], Cancel))];
        }

        await Assert.ThrowsAnyAsync<DbException>(() => bad);
        await Task.WhenAll(good);
        foreach (var row in others)
        {
            Assert.Equal([row], await Store.ReadAsync(row.Device, 0, 10, Now, Cancel), RowComparer.Instance);
        }

        Assert.Equal(1, await Store.CountAsync(device, Cancel));
    }

    [Fact]
    public async Task DeleteAsync_KnownAndUnknownIds_DeletesTheKnownOnes()
    {
        var device = NewDevice();
        var rows = Enumerable.Range(1, 4).Select(seq => Row(device, seq)).ToArray();
        await Store.AppendAsync(rows, Cancel);

        Assert.Equal(2, await Store.DeleteAsync(device, [rows[0].Id, Guid.NewGuid(), rows[2].Id], Cancel));
        Assert.Equal(0, await Store.DeleteAsync(device, [rows[0].Id], Cancel));

        Assert.Equal([rows[1], rows[3]], await Store.ReadAsync(device, 0, 10, Now, Cancel), RowComparer.Instance);
    }

    [Fact]
    public async Task DeleteAsync_UnknownAndRepeatedIds_CountsOnlyRowsReallyDeleted()
    {
        var device = NewDevice();
        var rows = Enumerable.Range(1, 40).Select(seq => Row(device, seq)).ToArray();
        await Store.AppendAsync(rows, Cancel);

        // Over one multi-row statement's width, with an id named twice and made-up ones.
        var deleted = await Store.DeleteAsync(
            device, [.. rows.Take(35).Select(r => r.Id), rows[0].Id, Guid.NewGuid(), Guid.NewGuid()], Cancel);

        Assert.Equal(35, deleted);
        Assert.Equal(0, await Store.DeleteAsync(device, [Guid.NewGuid()], Cancel));
        Assert.Equal(5, await Store.CountAsync(device, Cancel));
    }

    [Fact]
    public async Task AppendAsync_CallersOfOneBatch_EachCountOnlyTheRowsTheyStored()
    {
        var device = NewDevice();
        var queued = Row(device, 1);
        await Store.AppendAsync([queued], Cancel);
        var fresh = Row(device, 2);
        var other = Row(NewDevice(), 1);

        Task<int>[] appends;
        Task<int> delete;
        // One batch: a retry of a queued row, a new row named by two callers, and a row deleted then stored again
        // within one call (the call spans two segments).
        await using (await Database.BlockWritersAsync())
        {
            appends =
            [
                Store.AppendAsync([queued with { Sequence = 3 }, fresh], Cancel),
                Store.AppendAsync([fresh with { Sequence = 4 }, other], Cancel),
            ];
            delete = Store.DeleteAsync(device, [queued.Id], Cancel);
            appends = [.. appends, Store.AppendAsync([Row(device, 5), queued with { Sequence = 6 }], Cancel)];
        }

        var counts = await Task.WhenAll(appends);
        Assert.Equal([1, 1, 2], counts);
        Assert.Equal(1, await delete);
        Assert.Equal(3, await Store.CountAsync(device, Cancel));
    }

    [Fact]
    public async Task DeleteAsync_CallersOfOneBatch_EachGetTheRowsTheyDeleted()
    {
        var device = NewDevice();
        var other = NewDevice();
        var rows = Enumerable.Range(1, 4).Select(seq => Row(device, seq)).ToArray();
        var otherRow = Row(other, 1);
        await Store.AppendAsync([.. rows, otherRow], Cancel);

        Task<int>[] deletes;
        // While the writers cannot commit, all these go into one batch: each caller must get its own count.
        await using (await Database.BlockWritersAsync())
        {
            deletes =
            [
                Store.DeleteAsync(device, [rows[0].Id, rows[1].Id], Cancel),
                Store.DeleteAsync(device, [rows[1].Id, Guid.NewGuid()], Cancel),
                Store.DeleteAsync(device, [otherRow.Id], Cancel),
                Store.DeleteAsync(other, [otherRow.Id, rows[2].Id], Cancel),
                Store.DeleteAsync(device, [rows[3].Id], Cancel),
            ];
        }

        var counts = await Task.WhenAll(deletes);
        Assert.Equal([2, 0, 0, 1, 1], counts);
        Assert.Equal([rows[2]], await Store.ReadAsync(device, 0, 10, Now, Cancel), RowComparer.Instance);
        Assert.Equal(0, await Store.CountAsync(other, Cancel));
    }

    [Fact]
    public async Task DeleteAsync_IdDeletedReappendedAndDeletedInOneBatch_CountsEachDelete()
    {
        var device = NewDevice();
        var row = Row(device, 1);
        await Store.AppendAsync([row], Cancel);

        Task<int> first;
        Task<int> second;
        Task append;
        await using (await Database.BlockWritersAsync())
        {
            first = Store.DeleteAsync(device, [row.Id], Cancel);
            append = Store.AppendAsync([row with { Sequence = 2 }], Cancel);
            second = Store.DeleteAsync(device, [row.Id], Cancel);
        }

        await append;
        Assert.Equal((1, 1), (await first, await second));
        Assert.Equal(0, await Store.CountAsync(device, Cancel));
    }

    [Fact]
    public async Task DeleteAsync_IdOfAnotherDevice_DeletesNothing()
    {
        var row = Row(NewDevice(), 1);
        await Store.AppendAsync([row], Cancel);

        await Store.DeleteAsync(NewDevice(), [row.Id], Cancel);

        Assert.Equal(1, await Store.CountAsync(row.Device, Cancel));
    }

    [Fact]
    public async Task AppendAsync_50ConcurrentCallers_AllDurableInSharedCommits()
    {
        var rows = Enumerable.Range(0, 50).Select(_ => Row(NewDevice(), 1)).ToArray();

        Task[] appends;
        // While the writers cannot commit, every call queues; the writers then take many per transaction.
        await using (await Database.BlockWritersAsync())
        {
            appends = await Task.WhenAll(rows.Select(row => Task.Run<Task>(() => Store.AppendAsync([row], Cancel), Cancel)));
        }

        await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        await using var reopened = Reopen();
        foreach (var row in rows)
        {
            Assert.Equal([row], await reopened.ReadAsync(row.Device, 0, 10, Now, Cancel), RowComparer.Instance);
        }

        Assert.InRange(meters.Commits, 1, rows.Length - 1);
        Assert.True(meters.LargestBatch > 1, $"Expected a commit of several callers' rows; the largest had {meters.LargestBatch}.");
    }

    [Fact]
    public async Task AppendAsync_CallsOfOneBatch_AreAppliedInCallOrder()
    {
        var device = NewDevice();
        var row = Row(device, 1);
        var rows = Enumerable.Range(2, 5).Select(seq => Row(device, seq)).ToArray();

        Task<int> deletedOldest;
        Task[] calls;
        await using (await Database.BlockWritersAsync())
        {
            calls =
            [
                Store.AppendAsync([row], Cancel),
                Store.DeleteAsync(device, [row.Id], Cancel),
                Store.AppendAsync([row with { Sequence = 7 }], Cancel),
                Store.AppendAsync(rows, Cancel),
                deletedOldest = Store.DeleteOldestAsync(device, 2, Cancel),
            ];
        }

        await Task.WhenAll(calls);

        Assert.Equal(2, await deletedOldest);
        Assert.Equal(
            [rows[2], rows[3], rows[4], row with { Sequence = 7 }],
            await Store.ReadAsync(device, 0, 10, Now, Cancel),
            RowComparer.Instance);
    }

    [Fact]
    public async Task AppendAsync_RowsOfManyDevicesInOneCall_StoresEach()
    {
        var rows = Enumerable.Range(0, 16).Select(_ => Row(NewDevice(), 5)).ToArray();

        await Store.AppendAsync(rows, Cancel);

        foreach (var row in rows)
        {
            Assert.Equal([row], await Store.ReadAsync(row.Device, 0, 10, Now, Cancel), RowComparer.Instance);
        }
    }

    [Fact]
    public async Task ReadAsync_ExpiredRow_IsLeftOut()
    {
        var device = NewDevice();
        var expired = Row(device, 1) with { ExpiresAt = Now - 1 };
        var lastMoment = Row(device, 2) with { ExpiresAt = Now };
        var live = Row(device, 3);
        await Store.AppendAsync([expired, lastMoment, live], Cancel);

        Assert.Equal([lastMoment, live], await Store.ReadAsync(device, 0, 10, Now, Cancel), RowComparer.Instance);
    }

    [Fact]
    public async Task DeleteExpiredAsync_ExpiredRowsOfManyDevices_DeletesThemUpToTheLimit()
    {
        // A clock long before the other tests' rows, which share the table and must not be swept here.
        const long sweepAt = 1_000_000;
        var expired = Enumerable.Range(0, 5).Select(i => Row(NewDevice(), 1) with { ExpiresAt = sweepAt - 100 + i }).ToArray();
        var live = Row(NewDevice(), 1) with { ExpiresAt = sweepAt };
        await Store.AppendAsync([.. expired, live], Cancel);

        var first = await Store.DeleteExpiredAsync(sweepAt, 3, Cancel);
        var second = await Store.DeleteExpiredAsync(sweepAt, 100, Cancel);
        var third = await Store.DeleteExpiredAsync(sweepAt, 100, Cancel);

        Assert.Equal((3, 2, 0), (first, second, third));
        foreach (var row in expired)
        {
            Assert.Equal(0, await Store.CountAsync(row.Device, Cancel));
        }

        Assert.Equal(1, await Store.CountAsync(live.Device, Cancel));
    }

    [Fact]
    public async Task DeleteOldestAsync_Overflow_DeletesTheLowestSequences()
    {
        var device = NewDevice();
        var rows = Enumerable.Range(1, 5).Select(seq => Row(device, seq)).ToArray();
        await Store.AppendAsync(rows, Cancel);

        var deleted = await Store.DeleteOldestAsync(device, 3, Cancel);
        var deletedPastTheEnd = await Store.DeleteOldestAsync(device, 10, Cancel);

        Assert.Equal((3, 2), (deleted, deletedPastTheEnd));
        Assert.Equal(0, await Store.CountAsync(device, Cancel));
    }

    [Fact]
    public async Task DeleteOldestAsync_SomeRows_KeepsTheNewest()
    {
        var device = NewDevice();
        var rows = Enumerable.Range(1, 5).Select(seq => Row(device, seq)).ToArray();
        await Store.AppendAsync(rows, Cancel);

        await Store.DeleteOldestAsync(device, 3, Cancel);

        Assert.Equal([rows[3], rows[4]], await Store.ReadAsync(device, 0, 10, Now, Cancel), RowComparer.Instance);
    }

    [Fact]
    public async Task PurgeAsync_Device_DeletesAllItsRowsAndNoOtherDevices()
    {
        var device = NewDevice();
        var other = Row(NewDevice(), 1);
        await Store.AppendAsync([Row(device, 1), Row(device, 2), other], Cancel);

        var purged = await Store.PurgeAsync(device, Cancel);

        Assert.Equal(2, purged);
        Assert.Equal(0, await Store.CountAsync(device, Cancel));
        Assert.Equal(0, await Store.GetMaxSequenceAsync(device, Cancel));
        Assert.Equal(1, await Store.CountAsync(other.Device, Cancel));
    }

    [Fact]
    public async Task CountAsync_AndGetMaxSequenceAsync_FollowAppendsAndDeletes()
    {
        var device = NewDevice();
        Assert.Equal((0L, 0L), (await Store.CountAsync(device, Cancel), await Store.GetMaxSequenceAsync(device, Cancel)));
        var rows = new[] { Row(device, 10), Row(device, 11), Row(device, 12) };

        await Store.AppendAsync(rows, Cancel);
        Assert.Equal((3L, 12L), (await Store.CountAsync(device, Cancel), await Store.GetMaxSequenceAsync(device, Cancel)));

        await Store.DeleteAsync(device, [rows[0].Id], Cancel);
        Assert.Equal((2L, 12L), (await Store.CountAsync(device, Cancel), await Store.GetMaxSequenceAsync(device, Cancel)));
    }

    [Fact]
    public async Task DisposeAsync_PendingAppends_AreCommittedAndSurviveANewStore()
    {
        var device = NewDevice();
        var rows = Enumerable.Range(1, 100).Select(seq => Row(device, seq)).ToArray();
        var appends = rows.Select(row => Store.AppendAsync([row], Cancel)).ToArray();

        await ((IAsyncDisposable)Store).DisposeAsync();

        await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        await using var reopened = Reopen();
        Assert.Equal(rows, await reopened.ReadAsync(device, 0, 1000, Now, Cancel), RowComparer.Instance);
    }

    [Fact]
    public async Task AppendAsync_CanceledBeforehand_IsCanceledAndStoresNothing()
    {
        var row = Row(NewDevice(), 1);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.AppendAsync([row], new CancellationToken(canceled: true)));

        await Store.AppendAsync([Row(row.Device, 2)], Cancel);
        Assert.Equal(1, await Store.CountAsync(row.Device, Cancel));
    }

    [Fact]
    public async Task AppendAsync_AfterDispose_ThrowsObjectDisposed()
    {
        await ((IAsyncDisposable)Store).DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => Store.AppendAsync([Row(NewDevice(), 1)], Cancel));
    }

    [Fact]
    public async Task AppendAsync_CommitFails_FaultsEveryCallerAndTheStoreRecovers()
    {
        var rows = Enumerable.Range(0, 10).Select(_ => Row(NewDevice(), 1)).ToArray();
        await Database.ExecuteAsync("ALTER TABLE inbox RENAME TO inbox_away");
        try
        {
            var appends = rows.Select(row => Store.AppendAsync([row], Cancel)).ToArray();
            var delete = Store.DeleteAsync(rows[0].Device, [rows[0].Id], Cancel);

            foreach (var call in appends.Append(delete))
            {
                await Assert.ThrowsAnyAsync<DbException>(() => call.WaitAsync(TimeSpan.FromSeconds(30), Cancel));
            }
        }
        finally
        {
            await Database.ExecuteAsync("ALTER TABLE inbox_away RENAME TO inbox");
        }
        await Store.AppendAsync([rows[0]], Cancel);
        Assert.Equal([rows[0]], await Store.ReadAsync(rows[0].Device, 0, 10, Now, Cancel), RowComparer.Instance);
    }

    [Fact]
    public async Task FindReceiptAsync_SavedReceipt_FoundUntilItExpires()
    {
        var receipt = new SendReceipt(NewDevice(), "+15550001111", Guid.NewGuid().ToString(), true, Later);
        Assert.Null(await Receipts.FindReceiptAsync(receipt.Sender, receipt.Destination, receipt.ClientMessageId, Now, Cancel));

        await Receipts.SaveReceiptAsync(receipt, Cancel);

        Assert.Equal(receipt, await Receipts.FindReceiptAsync(receipt.Sender, receipt.Destination, receipt.ClientMessageId, Now, Cancel));
        Assert.Null(await Receipts.FindReceiptAsync(receipt.Sender, receipt.Destination, receipt.ClientMessageId, Later, Cancel));
        Assert.Null(await Receipts.FindReceiptAsync(receipt.Sender, "+15550002222", receipt.ClientMessageId, Now, Cancel));
        Assert.Null(await Receipts.FindReceiptAsync(NewDevice(), receipt.Destination, receipt.ClientMessageId, Now, Cancel));
    }

    [Fact]
    public async Task SaveReceiptAsync_SameKeyTwiceInOneBatch_StoresOneAndBothComplete()
    {
        var receipt = new SendReceipt(NewDevice(), "+15550001111", "k", false, Later);

        Task[] saves;
        await using (await Database.BlockWritersAsync())
        {
            saves = [Receipts.SaveReceiptAsync(receipt, Cancel), Receipts.SaveReceiptAsync(receipt with { NeedsSync = true }, Cancel)];
        }

        await Task.WhenAll(saves);
        Assert.Equal(receipt, await Receipts.FindReceiptAsync(receipt.Sender, receipt.Destination, "k", Now, Cancel));
    }

    [Fact]
    public async Task SaveReceiptAsync_ExpiredKeySavedAgain_Renewed()
    {
        var receipt = new SendReceipt(NewDevice(), "+15550001111", "k", false, Now);
        await Receipts.SaveReceiptAsync(receipt, Cancel);

        await Receipts.SaveReceiptAsync(receipt with { NeedsSync = true, ExpiresAt = Later }, Cancel);

        Assert.Equal(receipt with { NeedsSync = true, ExpiresAt = Later }, await Receipts.FindReceiptAsync(receipt.Sender, receipt.Destination, "k", Now, Cancel));
    }

    [Fact]
    public async Task DeleteExpiredReceiptsAsync_ExpiredAndLive_DeletesOnlyTheExpiredInBatches()
    {
        var sender = NewDevice();
        var expired = Enumerable.Range(0, 5).Select(i => new SendReceipt(sender, "+15550001111", $"old-{i}", false, Now - 1)).ToArray();
        var live = new SendReceipt(sender, "+15550001111", "live", false, Later);
        await Task.WhenAll(expired.Append(live).Select(r => Receipts.SaveReceiptAsync(r, Cancel)));

        // Other tests' receipts share the table: sweep at a moment only this test's expired ones are past.
        var first = await Receipts.DeleteExpiredReceiptsAsync(Now, 3, Cancel);
        var rest = await Receipts.DeleteExpiredReceiptsAsync(Now, 100, Cancel);

        Assert.Equal(3, first);
        Assert.True(rest >= 2, $"expected the other 2 expired receipts to go; {rest} went");
        foreach (var receipt in expired)
        {
            Assert.Null(await Receipts.FindReceiptAsync(receipt.Sender, receipt.Destination, receipt.ClientMessageId, 0, Cancel));
        }

        Assert.Equal(live, await Receipts.FindReceiptAsync(sender, live.Destination, "live", Now, Cancel));
    }

    private static string NewDevice() => $"{Guid.NewGuid():N}.1";

    private static InboxRow Row(string device, long sequence)
    {
        var id = Guid.NewGuid();
        return new InboxRow(device, sequence, id, Later, Encoding.UTF8.GetBytes($"{{\"id\":\"{id}\",\"seq\":{sequence}}}"));
    }

    /// <summary>A second store on the same database: what it reads was committed, not held in the first one.</summary>
    private StoreHandle Reopen() => new(Database.CreateStore());

    private sealed class StoreHandle(IInboxStore store) : IAsyncDisposable
    {
        public Task<IReadOnlyList<InboxRow>> ReadAsync(string device, long after, int limit, long now, CancellationToken cancellationToken) =>
            store.ReadAsync(device, after, limit, now, cancellationToken);

        public ValueTask DisposeAsync() => ((IAsyncDisposable)store).DisposeAsync();
    }

    private sealed class RowComparer : IEqualityComparer<InboxRow>
    {
        public static readonly RowComparer Instance = new();

        public bool Equals(InboxRow? x, InboxRow? y) =>
            x is not null && y is not null
            && (x.Device, x.Sequence, x.Id, x.ExpiresAt) == (y.Device, y.Sequence, y.Id, y.ExpiresAt)
            && x.Envelope.AsSpan().SequenceEqual(y.Envelope);

        public int GetHashCode(InboxRow obj) => HashCode.Combine(obj.Device, obj.Sequence, obj.Id);
    }
}
