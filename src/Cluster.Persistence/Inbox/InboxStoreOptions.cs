using System.ComponentModel.DataAnnotations;

namespace Cluster.Persistence.Inbox;

/// <summary>How an inbox store group-commits its writes.</summary>
public sealed class InboxStoreOptions
{
    /// <summary>
    /// The most rows (appended envelopes plus acked ids) one commit takes from the queue. A single call larger than
    /// this is never split; it goes into a commit of its own. Default: 4096.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxBatchRows { get; set; } = 4096;

    /// <summary>
    /// PostgreSQL only: how many writer loops commit in parallel, each on its own connection. A device's writes
    /// always go through the same loop, so they commit in the order they were made. SQLite always has exactly one
    /// writer. Default: 2.
    /// </summary>
    [Range(1, 64)]
    public int PostgresWriters { get; set; } = 2;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchRows, 1, nameof(MaxBatchRows));
        ArgumentOutOfRangeException.ThrowIfLessThan(PostgresWriters, 1, nameof(PostgresWriters));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PostgresWriters, 64, nameof(PostgresWriters));
    }
}
