using System.ComponentModel.DataAnnotations;

namespace Cluster.Silo.Blobs;

/// <summary>Blob limits and retention; section <c>Blobs</c>.</summary>
public sealed class BlobOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Blobs";

    /// <summary>The largest blob, in bytes; a larger upload is refused with 413. Default: 104857600 (100 MiB).</summary>
    [Range(1L, 2L * 1024 * 1024 * 1024)]
    public long MaxBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>How long a blob is served, counted from the start of its upload. Default: 7 days.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long an upload may run; an upload still running past it is abandoned (its rows swept), which also bounds what
    /// a silo that died mid-upload leaves behind. Default: 1 hour.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan UploadTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The most bytes one account's unexpired blobs may hold together (uploads under way count what they reserved);
    /// past it an upload is refused with 429 <c>blob_quota_exceeded</c>. Default: 536870912 (512 MiB: five full-size
    /// history bundles a week, one per companion an account may link).
    /// </summary>
    [Range(1L, 1024L * 1024 * 1024 * 1024)]
    public long MaxBytesPerAccount { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// The most unexpired blobs (uploads under way included) one account may hold; past it an upload is refused with
    /// 429 <c>blob_quota_exceeded</c>. Default: 32 (a bundle per link, with room for re-links and retries, in a week).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxBlobsPerAccount { get; set; } = 32;

    /// <summary>How often each silo deletes expired and abandoned blobs. Default: 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);
}
