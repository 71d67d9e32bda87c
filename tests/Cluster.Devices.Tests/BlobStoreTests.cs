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
