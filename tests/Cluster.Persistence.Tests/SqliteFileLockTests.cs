namespace Cluster.Persistence.Tests;

public sealed class SqliteFileLockTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("cluster-lock-");

    private string DatabasePath => Path.Combine(directory.FullName, "data", "cluster.db");

    [Fact]
    public void Acquire_FileAlreadyLocked_RefusedNamingTheFile()
    {
        using var first = SqliteFileLock.Acquire(DatabasePath);

        var error = Assert.Throws<InvalidOperationException>(() => SqliteFileLock.Acquire(DatabasePath));

        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
        Assert.Contains(first.LockPath, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Acquire_AfterRelease_Succeeds()
    {
        SqliteFileLock.Acquire(DatabasePath).Dispose();

        using var again = SqliteFileLock.Acquire(DatabasePath);

        Assert.Equal(DatabasePath + ".lock", again.LockPath);
        Assert.True(File.Exists(again.LockPath));
    }

    [Fact]
    public void Acquire_OtherDatabaseInSameDirectory_Succeeds()
    {
        using var first = SqliteFileLock.Acquire(DatabasePath);

        using var other = SqliteFileLock.Acquire(Path.Combine(directory.FullName, "data", "other.db"));

        Assert.NotEqual(first.LockPath, other.LockPath);
    }

    public void Dispose() => directory.Delete(recursive: true);
}
