using System.ComponentModel.DataAnnotations;

namespace Cluster.Silo.AppState;

/// <summary>App state sync limits; section <c>AppState</c>.</summary>
public sealed class AppStateOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "AppState";

    /// <summary>
    /// The collection names a device may use, comma-separated (lower-case letters, digits and <c>_</c>, at most 32
    /// characters each, at most 16 names); any other name is refused with 400 <c>unknown_collection</c>. Being a fixed
    /// list, it also caps how many collections an account holds. Default: WhatsApp's five,
    /// <c>critical_block,critical_unblock_low,regular_high,regular_low,regular</c>.
    /// </summary>
    [Required]
    [RegularExpression("^[a-z0-9_]{1,32}(,[a-z0-9_]{1,32}){0,15}$", ErrorMessage = "AppState:Collections must be 1 to 16 comma-separated names of [a-z0-9_]{1,32}.")]
    public string Collections { get; set; } = "critical_block,critical_unblock_low,regular_high,regular_low,regular";

    /// <summary>The largest patch, in bytes (decoded); a larger one is refused with 413 <c>patch_too_large</c>. Default: 65536 (64 KiB).</summary>
    [Range(1, 16 * 1024 * 1024)]
    public int MaxPatchBytes { get; set; } = 64 * 1024;

    /// <summary>The largest snapshot, in bytes (decoded); a larger one is refused with 413 <c>snapshot_too_large</c>. Default: 4194304 (4 MiB).</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxSnapshotBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The most bytes one collection may hold (its snapshot and the patches after it); an upload past it is refused
    /// with 413 <c>collection_full</c>, and a snapshot, which deletes the patches it covers, makes room.
    /// Default: 16777216 (16 MiB).
    /// </summary>
    [Range(1L, 1024L * 1024 * 1024)]
    public long MaxBytesPerCollection { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// The most patches one collection may hold after its snapshot (each is a row, however small); the next upload is
    /// refused with 413 <c>collection_full</c> until a snapshot replaces the patches it covers. Default: 10000.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxPatchesPerCollection { get; set; } = 10_000;

    /// <summary>The most patches one fetch answers (a fetch's <c>limit</c> may ask for fewer). Default: 50.</summary>
    [Range(1, 1000)]
    public int PageSize { get; set; } = 50;

    /// <summary>Whether <paramref name="collection"/> is one of <see cref="Collections"/>.</summary>
    public bool Allows(string collection) =>
        collection.Length is > 0 and <= 32
        && Collections.Split(',').Contains(collection, StringComparer.Ordinal);
}
