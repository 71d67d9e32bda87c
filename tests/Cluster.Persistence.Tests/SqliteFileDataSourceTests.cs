using Microsoft.Data.Sqlite;

namespace Cluster.Persistence.Tests;

public sealed class SqliteFileDataSourceTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("cluster-datasource-");

    private string DatabasePath => Path.Combine(directory.FullName, "cluster.db");

    [Theory]
    [InlineData(SqliteSynchronous.Normal)]
    [InlineData(SqliteSynchronous.Full)]
    [InlineData(SqliteSynchronous.Extra)]
    public async Task OpenConnectionAsync_GivenSynchronous_AppliesItAndTheBusyTimeout(SqliteSynchronous synchronous)
    {
        await using var dataSource = new SqliteFileDataSource(DatabasePath, synchronous, TimeSpan.FromSeconds(7));

        await using var connection = await dataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);

        Assert.Equal((long)synchronous, Pragma(connection, "synchronous"));
        Assert.Equal(7000L, Pragma(connection, "busy_timeout"));
    }

    [Fact]
    public async Task CreateConnection_OpenedByCaller_StillGetsThePragmas()
    {
        await using var dataSource = new SqliteFileDataSource(DatabasePath, SqliteSynchronous.Normal);

        await using var connection = dataSource.CreateConnection();
        await connection.OpenAsync(TestContext.Current.CancellationToken);

        Assert.Equal((long)SqliteSynchronous.Normal, Pragma(connection, "synchronous"));
        Assert.Equal(30_000L, Pragma(connection, "busy_timeout"));
    }

    [Fact]
    public async Task OpenConnectionAsync_PooledHandleAgainAndOtherSourceBetween_EachOpenHasItsSourcesPragmas()
    {
        var cancel = TestContext.Current.CancellationToken;
        await using var normal = new SqliteFileDataSource(DatabasePath, SqliteSynchronous.Normal, TimeSpan.FromSeconds(7));
        await using var extra = new SqliteFileDataSource(DatabasePath, SqliteSynchronous.Extra, TimeSpan.FromSeconds(7));
        object? firstHandle;
        await using (var first = await normal.OpenSqliteConnectionAsync(cancel))
        {
            firstHandle = first.Handle;
        }

        // The same pooled SQLite handle again (the pragmas are not run a second time), then through a source with
        // other pragmas and the same connection string (so the same pool), then through the first source again: each open has its own source's.
        foreach (var (source, synchronous, timeout) in new[] { (normal, 1L, 7000L), (extra, 3L, 7000L), (normal, 1L, 7000L) })
        {
            await using var connection = await source.OpenSqliteConnectionAsync(cancel);
            Assert.Same(firstHandle, connection.Handle);
            Assert.Equal(synchronous, Pragma(connection, "synchronous"));
            Assert.Equal(timeout, Pragma(connection, "busy_timeout"));
        }
    }

    [Fact]
    public void ForFile_RelativePath_IsAbsoluteWithBusyTimeoutAsDefaultTimeout()
    {
        var builder = new SqliteConnectionStringBuilder(SqliteConnectionStrings.ForFile("data/cluster.db", TimeSpan.FromSeconds(12)));

        Assert.Equal(Path.GetFullPath("data/cluster.db"), builder.DataSource);
        Assert.Equal(12, builder.DefaultTimeout);
        Assert.Equal(SqliteOpenMode.ReadWriteCreate, builder.Mode);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        directory.Delete(recursive: true);
    }

    private static long Pragma(System.Data.Common.DbConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return (long)command.ExecuteScalar()!;
    }
}
