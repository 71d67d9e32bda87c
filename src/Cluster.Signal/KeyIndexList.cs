using System.Diagnostics.CodeAnalysis;

namespace Cluster.Signal;

/// <summary>The signed device list of Automatic Device Verification (<c>keyIndexList</c>):
/// <c>u8 1 || str accountId || u64 timestampMs || u32 currentIndex || u16 n || n × u32 validIndex</c>, integers
/// big-endian, <c>str</c> = <c>u16 length || UTF-8</c>, valid indexes strictly ascending.</summary>
/// <remarks>The primary signs it (see <see cref="AdvSignatures.DeviceListMessage"/>). Servers keep and serve the
/// client's bytes verbatim; this type reads them and builds new ones.</remarks>
public sealed class KeyIndexList
{
    /// <summary>The only version of the layout.</summary>
    public const byte Version = 1;

    private readonly uint[] validIndexes;

    /// <summary>Creates a key index list.</summary>
    /// <param name="accountId">The account whose devices the list names.</param>
    /// <param name="timestampMs">When the primary made the list, in Unix milliseconds.</param>
    /// <param name="currentIndex">The highest key index the primary has handed out.</param>
    /// <param name="validIndexes">The key indexes of the linked companions, strictly ascending.</param>
    /// <exception cref="ArgumentException"><paramref name="accountId"/> is over 65535 UTF-8 bytes or not valid
    /// UTF-16, or <paramref name="validIndexes"/> is not strictly ascending or has over 65535 entries.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timestampMs"/> is negative.</exception>
    public KeyIndexList(string accountId, long timestampMs, uint currentIndex, IEnumerable<uint> validIndexes)
    {
        AdvWriter.StringLength(accountId, nameof(accountId));
        ArgumentOutOfRangeException.ThrowIfNegative(timestampMs);
        ArgumentNullException.ThrowIfNull(validIndexes);
        var indexes = validIndexes.ToArray();
        if (indexes.Length > ushort.MaxValue)
        {
            throw new ArgumentException($"A key index list holds at most {ushort.MaxValue} indexes.", nameof(validIndexes));
        }

        if (FindNotAscending(indexes) is { } position)
        {
            throw new ArgumentException(
                $"Valid indexes must be strictly ascending; {indexes[position]} follows {indexes[position - 1]}.",
                nameof(validIndexes));
        }

        AccountId = accountId;
        TimestampMs = timestampMs;
        CurrentIndex = currentIndex;
        this.validIndexes = indexes;
    }

    /// <summary>The account whose devices the list names.</summary>
    public string AccountId { get; }

    /// <summary>When the primary made the list, in Unix milliseconds.</summary>
    public long TimestampMs { get; }

    /// <summary>The highest key index the primary has handed out.</summary>
    public uint CurrentIndex { get; }

    /// <summary>The key indexes of the linked companions, strictly ascending.</summary>
    public IReadOnlyList<uint> ValidIndexes => validIndexes.AsReadOnly();

    /// <summary>Reads a key index list strictly: version 1, every field present, valid indexes strictly ascending,
    /// nothing after the last one.</summary>
    /// <param name="bytes">The serialized list.</param>
    /// <param name="list">The list, when the bytes are well formed.</param>
    /// <param name="error">What is wrong, when they are not.</param>
    /// <returns>Whether the bytes are well formed.</returns>
    public static bool TryParse(
        ReadOnlySpan<byte> bytes,
        [NotNullWhen(true)] out KeyIndexList? list,
        [NotNullWhen(false)] out FormatError? error)
    {
        list = null;
        var reader = new AdvReader(bytes, "keyIndexList");
        if (!reader.TryReadVersion(Version, out error)
            || !reader.TryReadString("accountId", out var accountId, out error)
            || !reader.TryReadTimestamp("timestampMs", out var timestampMs, out error)
            || !reader.TryReadUInt32("currentIndex", out var currentIndex, out error)
            || !reader.TryReadUInt16("validIndex count", out var count, out error)
            || !reader.TryReadUInt32List("validIndex list", count, out var indexes, out error)
            || !reader.TryReadEnd(out error))
        {
            return false;
        }

        if (FindNotAscending(indexes) is { } position)
        {
            error = new FormatError(
                FormatProblem.NotAscending,
                $"keyIndexList valid indexes are not strictly ascending: {indexes[position]} follows {indexes[position - 1]}");
            return false;
        }

        list = new KeyIndexList(accountId, timestampMs, currentIndex, indexes);
        return true;
    }

    /// <summary>Serializes the list.</summary>
    /// <returns>The bytes to sign and send.</returns>
    public byte[] ToBytes()
    {
        var bytes = new byte[
            1 + AdvWriter.StringLength(AccountId, nameof(AccountId)) + sizeof(ulong) + sizeof(uint)
            + sizeof(ushort) + (validIndexes.Length * sizeof(uint))];
        var writer = new AdvWriter(bytes);
        writer.WriteByte(Version);
        writer.WriteString(AccountId);
        writer.WriteUInt64((ulong)TimestampMs);
        writer.WriteUInt32(CurrentIndex);
        writer.WriteUInt16((ushort)validIndexes.Length);
        foreach (var index in validIndexes)
        {
            writer.WriteUInt32(index);
        }

        return bytes;
    }

    private static int? FindNotAscending(uint[] indexes)
    {
        for (var i = 1; i < indexes.Length; i++)
        {
            if (indexes[i] <= indexes[i - 1])
            {
                return i;
            }
        }

        return null;
    }
}
