using System.Globalization;
using Cluster.Abstractions.Groups;
using Cluster.Grains.Messaging;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Cluster.Testing;

namespace Cluster.Inbox.Tests;

/// <summary>
/// The <see cref="IGroupBodyStore"/> rules on both engines: a body is stored once, kept while it is unsealed or a row
/// refers to it, and deleted by whichever delete takes its last row, however the rows are spread over the writers.
/// Also the measure in docs/benchmarks.md ("Group bodies: bytes stored").
/// </summary>
public sealed class GroupBodyStoreTests
{
    private const long Now = 1_750_000_000_000;
    private const long Later = Now + 86_400_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task DeleteAsync_LastRowsAckedInParallelOnEveryWriter_BodyDeletedOnlyWithTheLast(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        await using var handle = Open(database, new InboxStoreOptions { PostgresWriters = 8 });
        var (store, bodies) = handle.Parts;
        var body = await StoredBodyAsync(bodies);
        var rows = Copies(body, 64);
        await Task.WhenAll(rows.Select(row => store.AppendAsync([row], Cancel)));
        await bodies.SealBodyAsync(body.Id, Cancel);

        var deleted = await Task.WhenAll(rows.Skip(1).Select(row => store.DeleteAsync(row.Device, [row.Id], Cancel)));
        var beforeLast = await CountBodiesAsync(database);
        var last = await store.DeleteAsync(rows[0].Device, [rows[0].Id], Cancel);

        Assert.All(deleted, d => Assert.Equal(1, d));
        Assert.Equal(1, last);
        Assert.Equal(1, beforeLast);
        Assert.Equal(0, await CountBodiesAsync(database));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task DeleteAsync_EveryRowAtOnceOnEveryWriter_BodyDeleted(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        await using var handle = Open(database, new InboxStoreOptions { PostgresWriters = 8 });
        var (store, bodies) = handle.Parts;
        for (var round = 0; round < 5; round++)
        {
            var body = await StoredBodyAsync(bodies);
            var rows = Copies(body, 32);
            await store.AppendAsync(rows, Cancel);
            await bodies.SealBodyAsync(body.Id, Cancel);

            await Task.WhenAll(rows.Select(row => store.DeleteAsync(row.Device, [row.Id], Cancel)));

            Assert.Equal(0, await CountBodiesAsync(database));
        }
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task SealBodyAsync_RowsAckedWhileUnsealed_KeptUntilSealedThenDeleted(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        await using var handle = Open(database);
        var (store, bodies) = handle.Parts;
        var body = await StoredBodyAsync(bodies);
        var rows = Copies(body, 3);
        await store.AppendAsync([rows[0]], Cancel);
        await store.DeleteAsync(rows[0].Device, [rows[0].Id], Cancel);
        var afterEarlyAck = await CountBodiesAsync(database);
        await store.AppendAsync([rows[1], rows[2]], Cancel);
        var read = await store.ReadAsync(rows[2].Device, 0, 10, Now, Cancel);
        await store.PurgeAsync(rows[1].Device, Cancel);
        await store.DeleteOldestAsync(rows[2].Device, 1, Cancel);
        var unsealedWithoutRows = await CountBodiesAsync(database);

        await bodies.SealBodyAsync(body.Id, Cancel);

        Assert.Equal(1, afterEarlyAck);
        Assert.Equal(Convert.ToBase64String(body.Content), ContentOf(Assert.Single(read)));
        Assert.Equal(1, unsealedWithoutRows);
        Assert.Equal(0, await CountBodiesAsync(database));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task StoreBodyAsync_RetriedAfterSeal_StoredOnceUnsealedAgainLaterExpiryKept(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        await using var handle = Open(database);
        var (store, bodies) = handle.Parts;
        var body = await StoredBodyAsync(bodies);
        var rows = Copies(body, 2);
        await store.AppendAsync([rows[0]], Cancel);
        await bodies.SealBodyAsync(body.Id, Cancel);

        await bodies.StoreBodyAsync(body with { ExpiresAt = Later + 5 }, Cancel);
        await store.DeleteAsync(rows[0].Device, [rows[0].Id], Cancel);
        var afterRetryAndAck = await database.QueryAsync("SELECT count(*), max(expires_at) FROM group_bodies");
        await store.AppendAsync([rows[1]], Cancel);
        await bodies.SealBodyAsync(body.Id, Cancel);
        var sealedWithRow = await CountBodiesAsync(database);
        await store.DeleteAsync(rows[1].Device, [rows[1].Id], Cancel);

        Assert.Equal([string.Create(CultureInfo.InvariantCulture, $"1|{Later + 5}")], afterRetryAndAck);
        Assert.Equal(1, sealedWithRow);
        Assert.Equal(0, await CountBodiesAsync(database));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task DeleteExpiredBodiesAsync_ExpiredOrSealedWithoutRows_DeletedLiveOnesKept(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        await using var handle = Open(database);
        var (store, bodies) = handle.Parts;
        var live = await StoredBodyAsync(bodies);
        await store.AppendAsync(Copies(live, 1), Cancel);
        await bodies.SealBodyAsync(live.Id, Cancel);
        await StoredBodyAsync(bodies);
        await StoredBodyAsync(bodies, expiresAt: Now - 1);
        var orphan = Guid.NewGuid();
        var sealedValue = kind == StorageKind.Sqlite ? "1" : "true";
        var idLiteral = kind == StorageKind.Sqlite ? $"x'{Convert.ToHexString(orphan.ToByteArray())}'" : $"'{orphan}'";
        await database.ExecuteAsync($"INSERT INTO group_bodies (id, expires_at, sealed, content) VALUES ({idLiteral}, {Later}, {sealedValue}, {(kind == StorageKind.Sqlite ? "x'00'" : "'\\x00'")})");

        var swept = await bodies.DeleteExpiredBodiesAsync(Now, 100, Cancel);

        Assert.Equal(2, swept);
        Assert.Equal(2, await CountBodiesAsync(database));
    }

    /// <summary>
    /// docs/benchmarks.md, "Group bodies: bytes stored": one group message to 256 accounts × 3 devices (767 copies, the
    /// sending device left out), stored as a copy per device against one shared body. Counts bytes, not time.
    /// </summary>
    [Theory]
    [InlineData(StorageKind.Sqlite, 256)]
    [InlineData(StorageKind.Sqlite, 16_384)]
    [InlineData(StorageKind.PostgreSql, 256)]
    [InlineData(StorageKind.PostgreSql, 16_384)]
    public async Task StoredBytes_256AccountsBy3Devices_SharedBodyAgainstPerDeviceCopies(StorageKind kind, int contentBytes)
    {
        var perDevice = await MeasureAsync(kind, contentBytes, shared: false);
        var shared = await MeasureAsync(kind, contentBytes, shared: true);

        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{kind} content {contentBytes} B, 767 copies: per-device logical {perDevice.Logical} B, file {perDevice.Physical} B; shared logical {shared.Logical} B, file {shared.Physical} B"));
        Assert.True(shared.Logical < perDevice.Logical - (766L * contentBytes), $"{shared.Logical} against {perDevice.Logical}");
        Assert.True(shared.Physical < perDevice.Physical, $"{shared.Physical} against {perDevice.Physical}");
    }

    private static async Task<(long Logical, long Physical)> MeasureAsync(StorageKind kind, int contentBytes, bool shared)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, Cancel);
        var before = await PhysicalBytesAsync(database);
        await using (var handle = Open(database))
        {
            var (store, bodies) = handle.Parts;
            var content = new byte[contentBytes];
            Random.Shared.NextBytes(content);
            var body = new GroupBody(Guid.NewGuid(), Later, content);
            var groupId = GroupIds.New();
            var sender = TestAccounts.NewAccountId();
            var accounts = Enumerable.Range(0, 256).Select(i => i == 0 ? sender : TestAccounts.NewAccountId()).ToArray();
            var rows = new List<InboxRow>();
            foreach (var account in accounts)
            {
                for (var deviceId = 1; deviceId <= 3; deviceId++)
                {
                    if (account == sender && deviceId == 1)
                    {
                        continue;
                    }

                    var id = Guid.CreateVersion7();
                    var envelope = EnvelopeJson.Write(
                        id, EnvelopeJson.SenderKeyType, sender, 1, deviceId, Now, Now, shared ? [] : content, false, groupId);
                    rows.Add(new InboxRow(
                        $"{account}.{deviceId}", 1, id, Later, envelope, shared ? new InboxBodyRef(body.Id, EnvelopeJson.ContentOffset(envelope)) : null));
                }
            }

            if (shared)
            {
                await bodies.StoreBodyAsync(body, Cancel);
            }

            await store.AppendAsync(rows, Cancel);
            Assert.Equal(767, rows.Count);
        }

        var logical = long.Parse(
            (await database.QueryAsync(
                "SELECT (SELECT coalesce(sum(length(envelope)), 0) FROM inbox) + (SELECT coalesce(sum(length(content)), 0) FROM group_bodies)"))[0],
            CultureInfo.InvariantCulture);
        return (logical, await PhysicalBytesAsync(database) - before);
    }

    /// <summary>What the inbox and its bodies take on disk: SQLite's pages in use, PostgreSQL's two relations with their indexes and TOAST.</summary>
    private static async Task<long> PhysicalBytesAsync(TestDatabase database)
    {
        var sql = database.Kind == StorageKind.Sqlite
            ? "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()) - (SELECT freelist_count FROM pragma_freelist_count()) * (SELECT page_size FROM pragma_page_size())"
            : "SELECT pg_total_relation_size('inbox') + pg_total_relation_size('group_bodies')";
        return long.Parse((await database.QueryAsync(sql))[0], CultureInfo.InvariantCulture);
    }

    private static StoreHandle Open(TestDatabase database, InboxStoreOptions? options = null) => new(database.CreateStore(options));

    private static async Task<GroupBody> StoredBodyAsync(IGroupBodyStore bodies, long expiresAt = Later)
    {
        var body = new GroupBody(Guid.NewGuid(), expiresAt, [.. Enumerable.Range(0, 300).Select(i => (byte)(250 + (i % 6)))]);
        await bodies.StoreBodyAsync(body, Cancel);
        return body;
    }

    /// <summary>One copy of <paramref name="body"/> for each of <paramref name="count"/> fresh devices.</summary>
    private static InboxRow[] Copies(GroupBody body, int count)
    {
        var group = GroupIds.New();
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var id = Guid.NewGuid();
            var head = EnvelopeJson.Write(id, EnvelopeJson.SenderKeyType, "+15550000001", 1, 2, Now, Now, [], false, group);
            return new InboxRow($"{Guid.NewGuid():N}.{i + 1}", 1, id, Later, head, new InboxBodyRef(body.Id, EnvelopeJson.ContentOffset(head)));
        })];
    }

    private static string ContentOf(InboxRow row) =>
        System.Text.Json.JsonDocument.Parse(row.Envelope).RootElement.GetProperty("content").GetString()!;

    private static async Task<long> CountBodiesAsync(TestDatabase database) => await database.CountAsync("group_bodies");

    private sealed class StoreHandle(IInboxStore store) : IAsyncDisposable
    {
        public (IInboxStore Store, IGroupBodyStore Bodies) Parts => (store, (IGroupBodyStore)store);

        public ValueTask DisposeAsync() => ((IAsyncDisposable)store).DisposeAsync();
    }
}
