namespace Cluster.Persistence;

/// <summary>
/// An exclusive lock on <c>&lt;database file&gt;.lock</c>, held until disposed. In localhost
/// clustering every silo owns every grain, so two processes on one SQLite file would both
/// activate the same grains; the second one is refused instead.
/// </summary>
/// <remarks>
/// The lock is the open file itself (<see cref="FileShare.None"/>, an advisory <c>flock</c> on
/// Linux), so the operating system releases it when the process dies. It also refuses a second
/// lock from the same process. The lock file is left in place when released: deleting it could
/// let two processes lock two different files of the same name.
/// </remarks>
public sealed class SqliteFileLock : IDisposable
{
    private readonly FileStream lockFile;

    private SqliteFileLock(string databasePath, string lockPath, FileStream lockFile)
    {
        DatabasePath = databasePath;
        LockPath = lockPath;
        this.lockFile = lockFile;
    }

    /// <summary>The full path of the database file this lock guards.</summary>
    public string DatabasePath { get; }

    /// <summary>The full path of the lock file.</summary>
    public string LockPath { get; }

    /// <summary>
    /// Locks the database at <paramref name="databasePath"/>, creating its directory if needed.
    /// </summary>
    /// <param name="databasePath">The database file; relative paths are resolved against the current directory.</param>
    /// <exception cref="InvalidOperationException">Another holder already has the lock.</exception>
    public static SqliteFileLock Acquire(string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        var fullPath = Path.GetFullPath(databasePath);
        var lockPath = fullPath + ".lock";
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);

        try
        {
            var lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new SqliteFileLock(fullPath, lockPath, lockFile);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"The SQLite database '{fullPath}' is already in use: its lock file '{lockPath}' is held by another silo. "
                + "Stop that silo, or give this one its own database file.",
                ex);
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => lockFile.Dispose();
}
