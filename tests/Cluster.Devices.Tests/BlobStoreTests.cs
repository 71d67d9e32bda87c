using System.Data.Common;
using System.Security.Cryptography;
using Cluster.Persistence;
using Cluster.Persistence.Blobs;
using Cluster.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Cluster.Devices.Tests;

/// <summary>The blob stores themselves, on both engines: the sweep, and what a failed upload leaves behind.</summary>
public sealed class BlobStoreTests
{
    private const long Now = 1_700_000_000_000;
    private const long Day = 24 * 60 * 60 * 1000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<string> Engines => ["sqlite", "postgresql"];

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task DeleteExpired_AfterExpiry_BlobAndChunksGone(string engine)
    {
        await using var database = await StoreDatabase.CreateAsync(engine);
        var content = RandomNumberGenerator.GetBytes(BlobStore.ChunkBytes + 10);
        var kept = await database.Store.WriteAsync(new BlobWrite("kept", 1 << 30, Now + (8 * Day), Now + Day), new MemoryStream(content), Cancel);
        var swept = await database.Store.WriteAsync(new BlobWrite("swept", 1 << 30, Now + (7 * Day), Now + Day), new MemoryStream(content), Cancel);

        var early = await database.Store.DeleteExpiredAsync(Now + (7 * Day) - 1, 100, Cancel);
        var stillThere = await database.Store.FindAsync("swept", Now, Cancel);
        var deleted = await database.Store.DeleteExpiredAsync(Now + (7 * Day), 100, Cancel);

        Assert.Equal(BlobWriteStatus.Stored, kept.Status);
        Assert.Equal(BlobWriteStatus.Stored, swept.Status);
        Assert.Equal(0, early);
        Assert.Equal(new StoredBlob("swept", content.Length, 2, Now + (7 * Day)), stillThere);
        Assert.Equal(1, deleted);
        Assert.Null(await database.Store.FindAsync("swept", Now, Cancel));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM blob_chunks WHERE blob_id = 'swept'"));
        Assert.Equal(2, await database.CountAsync("SELECT count(*) FROM blob_chunks WHERE blob_id = 'kept'"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Write_ContentOverMax_TooLargeAndNothingKept(string engine)
    {
        await using var database = await StoreDatabase.CreateAsync(engine);

        var result = await database.Store.WriteAsync(
            new BlobWrite("big", BlobStore.ChunkBytes + 1, Now + Day, Now + Day), new MemoryStream(new byte[(2 * BlobStore.ChunkBytes) + 5]), Cancel);

        Assert.Equal(BlobWriteStatus.TooLarge, result.Status);
        Assert.Null(await database.Store.FindAsync("big", Now, Cancel));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM blobs"));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM blob_chunks"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Write_ClientFailsMidUpload_NothingKept(string engine)
    {
        await using var database = await StoreDatabase.CreateAsync(engine);
        var content = new ScriptedStream(BlobStore.ChunkBytes + 100, failAfterFirstChunk: true);

        await Assert.ThrowsAsync<IOException>(() => database.Store.WriteAsync(new BlobWrite("torn", 1 << 30, Now + Day, Now + Day), content, Cancel));

        Assert.Null(await database.Store.FindAsync("torn", Now, Cancel));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM blobs"));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM blob_chunks"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Write_SweptWhileUploading_AbandonedAndNothingKept(string engine)
    {
        await using var database = await StoreDatabase.CreateAsync(engine);
        var write = new BlobWrite("slow", 1 << 30, Now + (7 * Day), Now + 1000);
        // The upload outlives its deadline: a sweep runs between its first and second chunk.
        var content = new ScriptedStream(
            (3 * BlobStore.ChunkBytes) + 1, afterFirstChunk: () => database.Store.DeleteExpiredAsync(Now + 1000, 100, Cancel).GetAwaiter().GetResult());

        var result = await database.Store.WriteAsync(write, content, Cancel);

        Assert.Equal(BlobWriteStatus.Abandoned, result.Status);
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM blobs"));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM blob_chunks"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Find_UploadNotFinished_NotReadable(string engine)
    {
        await using var database = await StoreDatabase.CreateAsync(engine);
        StoredBlob? seenMidway = new("placeholder", 0, 0, 0);
        var content = new ScriptedStream(
            (2 * BlobStore.ChunkBytes) + 1, afterFirstChunk: () => seenMidway = database.Store.FindAsync("growing", Now, Cancel).GetAwaiter().GetResult());

        var result = await database.Store.WriteAsync(new BlobWrite("growing", 1 << 30, Now + Day, Now + Day), content, Cancel);

        Assert.Null(seenMidway);
        Assert.Equal(BlobWriteStatus.Stored, result.Status);
        Assert.NotNull(await database.Store.FindAsync("growing", Now, Cancel));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Write_OwnerAtCountQuota_RefusedUntilItsOldestExpires(string engine)
    {
        await using var database = await StoreDatabase.CreateAsync(engine);
        var quota = new BlobQuota(1 << 30, 2);

        var first = await database.Store.WriteAsync(Owned("a1", "+15550000001", quota, Now, Now + Day), new MemoryStream([1]), Cancel);
        var second = await database.Store.WriteAsync(Owned("a2", "+15550000001", quota, Now, Now + (2 * Day)), new MemoryStream([2]), Cancel);
        var third = await database.Store.WriteAsync(Owned("a3", "+15550000001", quota, Now, Now + (3 * Day)), new MemoryStream([3]), Cancel);
        var otherOwner = await database.Store.WriteAsync(Owned("b1", "+15550000002", quota, Now, Now + Day), new MemoryStream([4]), Cancel);
        var afterOldest = await database.Store.WriteAsync(Owned("a4", "+15550000001", quota, Now + Day, Now + (3 * Day)), new MemoryStream([5]), Cancel);

        Assert.Equal([BlobWriteStatus.Stored, BlobWriteStatus.Stored], new[] { first.Status, second.Status });
        Assert.Equal(BlobWriteStatus.QuotaExceeded, third.Status);
        Assert.Equal(BlobQuotaLimit.Count, third.Limit);
        Assert.Equal(Now + Day, third.RetryAt);
        Assert.Null(await database.Store.FindAsync("a3", Now, Cancel));
        Assert.Equal(BlobWriteStatus.Stored, otherOwner.Status);
        Assert.Equal(BlobWriteStatus.Stored, afterOldest.Status);
        Assert.Equal(3, await database.CountAsync("SELECT count(*) FROM blobs WHERE owner = '+15550000001'"));
        Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM blobs WHERE owner = '+15550000002' AND id = 'b1'"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Write_OwnerOverByteQuota_RefusedAndNothingKept(string engine)
    {
        await using var database = await StoreDatabase.CreateAsync(engine);
        var quota = new BlobQuota(1000, 100);

        var declared600 = await database.Store.WriteAsync(
            Owned("d600", "+15550000001", quota, Now, Now + Day) with { DeclaredLength = 600 }, new MemoryStream(new byte[600]), Cancel);
        var declared500 = await database.Store.WriteAsync(
            Owned("d500", "+15550000001", quota, Now, Now + Day) with { DeclaredLength = 500 }, new MemoryStream(new byte[500]), Cancel);
        var streamed500 = await database.Store.WriteAsync(Owned("s500", "+15550000001", quota, Now, Now + Day), new MemoryStream(new byte[500]), Cancel);
        var streamed400 = await database.Store.WriteAsync(Owned("s400", "+15550000001", quota, Now, Now + Day), new MemoryStream(new byte[400]), Cancel);
        var full = await database.Store.WriteAsync(Owned("one", "+15550000001", quota, Now, Now + Day), new MemoryStream([1]), Cancel);

        Assert.Equal(BlobWriteStatus.Stored, declared600.Status);
        Assert.Equal((BlobWriteStatus.QuotaExceeded, BlobQuotaLimit.Bytes), (declared500.Status, declared500.Limit));
        Assert.Equal((BlobWriteStatus.QuotaExceeded, BlobQuotaLimit.Bytes), (streamed500.Status, streamed500.Limit));
        Assert.Equal(BlobWriteStatus.Stored, streamed400.Status);
        Assert.Equal((BlobWriteStatus.QuotaExceeded, BlobQuotaLimit.Bytes), (full.Status, full.Limit));
        Assert.Equal(2, await database.CountAsync("SELECT count(*) FROM blobs"));
        Assert.Equal(1000, await database.CountAsync("SELECT sum(length) FROM blobs WHERE owner = '+15550000001'"));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM blob_chunks WHERE blob_id IN ('d500', 's500', 'one')"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Write_WhileAnotherUploadOfTheOwnerRuns_ItsReservationCounts(string engine)
    {
        await using var database = await StoreDatabase.CreateAsync(engine);
        var quota = new BlobQuota(4 * BlobStore.ChunkBytes, 100);
        BlobWriteResult? during = null;
        // The running upload declared no length, so it holds what is left of the quota until it is done.
        var content = new ScriptedStream((2 * BlobStore.ChunkBytes) + 1, afterFirstChunk: () => during = database.Store.WriteAsync(
            Owned("during", "+15550000001", quota, Now, Now + Day) with { DeclaredLength = 10 }, new MemoryStream(new byte[10]), Cancel).GetAwaiter().GetResult());

        var running = await database.Store.WriteAsync(Owned("running", "+15550000001", quota, Now, Now + Day), content, Cancel);
        var after = await database.Store.WriteAsync(
            Owned("after", "+15550000001", quota, Now, Now + Day) with { DeclaredLength = 10 }, new MemoryStream(new byte[10]), Cancel);

        Assert.Equal(BlobWriteStatus.Stored, running.Status);
        Assert.Equal((BlobWriteStatus.QuotaExceeded, BlobQuotaLimit.Bytes), (during!.Status, during.Limit));
        Assert.Equal(BlobWriteStatus.Stored, after.Status);
    }

    private static BlobWrite Owned(string id, string owner, BlobQuota quota, long now, long expiresAt) =>
        new(id, 1 << 30, expiresAt, now + 1000) { Owner = owner, Quota = quota, Now = now };

    /// <summary>
    /// Yields <paramref name="length"/> bytes, as a client's upload. Once a full chunk has been read, runs
    /// <paramref name="afterFirstChunk"/> (the store holds no lock then), then fails if asked to, as a dropped client would.
    /// </summary>
    private sealed class ScriptedStream(int length, Action? afterFirstChunk = null, bool failAfterFirstChunk = false) : Stream
    {
        private int position;
        private bool scripted;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (position >= BlobStore.ChunkBytes && !scripted)
            {
                scripted = true;
                afterFirstChunk?.Invoke();
                if (failAfterFirstChunk)
                {
                    throw new IOException("the client went away");
                }
            }

            var n = Math.Min(count, length - position);
            buffer.AsSpan(offset, n).Fill(7);
            position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A migrated, empty database of one engine, and a blob store on it.</summary>
    private sealed class StoreDatabase : IAsyncDisposable
    {
        private readonly PostgresDatabase? postgres;
        private readonly string? directory;
        private readonly Func<DbConnection> connect;

        private StoreDatabase(BlobStore store, Func<DbConnection> connect, PostgresDatabase? postgres, string? directory)
        {
            Store = store;
            this.connect = connect;
            this.postgres = postgres;
            this.directory = directory;
        }

        public BlobStore Store { get; }

        public static async Task<StoreDatabase> CreateAsync(string engine)
        {
            if (engine == "postgresql")
            {
                var postgres = await PostgresDatabase.CreateAsync();
                await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, postgres.ConnectionString, Cancel);
                var connectionString = postgres.ConnectionString;
                return new StoreDatabase(new PostgresBlobStore(connectionString), () => new NpgsqlConnection(connectionString), postgres, null);
            }

            var directory = Directory.CreateTempSubdirectory("cluster-blobs-").FullName;
            var dataSource = new SqliteFileDataSource(Path.Combine(directory, "cluster.db"));
            await SchemaMigrator.MigrateAsync(StorageKind.Sqlite, dataSource.ConnectionString, Cancel);
            return new StoreDatabase(new SqliteBlobStore(dataSource), dataSource.CreateConnection, null, directory);
        }

        public async Task<long> CountAsync(string sql)
        {
            await using var connection = connect();
            await connection.OpenAsync(Cancel);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return Convert.ToInt64(await command.ExecuteScalarAsync(Cancel), System.Globalization.CultureInfo.InvariantCulture);
        }

        public async ValueTask DisposeAsync()
        {
            switch (Store)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }

            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }

            if (directory is not null)
            {
                SqliteConnection.ClearAllPools();
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
