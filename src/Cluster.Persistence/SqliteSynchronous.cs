namespace Cluster.Persistence;

/// <summary>
/// SQLite's <c>PRAGMA synchronous</c> levels for a database in WAL mode: how much of a
/// commit survives a power cut (a process crash loses nothing at any level).
/// </summary>
public enum SqliteSynchronous
{
    /// <summary>Never waits for the disk: a power cut can lose recent commits or corrupt the file.</summary>
    Off = 0,

    /// <summary>Syncs only at checkpoints: a power cut can lose the latest commits, but not corrupt the file.</summary>
    Normal = 1,

    /// <summary>Syncs the WAL at every commit: a commit that returned survives a power cut.</summary>
    Full = 2,

    /// <summary>Like <see cref="Full"/>, and also syncs the directory after deleting the journal.</summary>
    Extra = 3,
}
