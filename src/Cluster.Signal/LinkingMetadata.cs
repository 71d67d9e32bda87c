using System.Diagnostics.CodeAnalysis;

namespace Cluster.Signal;

/// <summary>The <c>linkingMetadata</c> of Automatic Device Verification:
/// <c>u8 1 || str accountId || u32 keyIndex || u64 timestampMs</c>, integers big-endian,
/// <c>str</c> = <c>u16 length || UTF-8</c>.</summary>
/// <remarks>The primary signs it when it links a companion (see <see cref="AdvSignatures"/>). Servers keep and verify
/// the client's bytes verbatim; this type reads them and builds new ones.</remarks>
public sealed record LinkingMetadata
{
    /// <summary>The only version of the layout.</summary>
    public const byte Version = 1;

    /// <summary>Creates linking metadata.</summary>
    /// <param name="accountId">The account the companion joins.</param>
    /// <param name="keyIndex">The companion's key index.</param>
    /// <param name="timestampMs">When the primary linked it, in Unix milliseconds.</param>
    /// <exception cref="ArgumentException"><paramref name="accountId"/> is over 65535 UTF-8 bytes or not valid UTF-16.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timestampMs"/> is negative.</exception>
    public LinkingMetadata(string accountId, uint keyIndex, long timestampMs)
    {
        AdvWriter.StringLength(accountId, nameof(accountId));
        ArgumentOutOfRangeException.ThrowIfNegative(timestampMs);
        AccountId = accountId;
        KeyIndex = keyIndex;
        TimestampMs = timestampMs;
    }

    /// <summary>The account the companion joins.</summary>
    public string AccountId { get; }

    /// <summary>The companion's key index; the primary's is 0.</summary>
    public uint KeyIndex { get; }

    /// <summary>When the primary linked the companion, in Unix milliseconds.</summary>
    public long TimestampMs { get; }

    /// <summary>Reads linking metadata strictly: version 1, every field present, nothing after the last one.</summary>
    /// <param name="bytes">The serialized metadata.</param>
    /// <param name="metadata">The metadata, when the bytes are well formed.</param>
    /// <param name="error">What is wrong, when they are not.</param>
    /// <returns>Whether the bytes are well formed.</returns>
    public static bool TryParse(
        ReadOnlySpan<byte> bytes,
        [NotNullWhen(true)] out LinkingMetadata? metadata,
        [NotNullWhen(false)] out FormatError? error)
    {
        metadata = null;
        var reader = new AdvReader(bytes, "linkingMetadata");
        if (!reader.TryReadVersion(Version, out error)
            || !reader.TryReadString("accountId", out var accountId, out error)
            || !reader.TryReadUInt32("keyIndex", out var keyIndex, out error)
            || !reader.TryReadTimestamp("timestampMs", out var timestampMs, out error)
            || !reader.TryReadEnd(out error))
        {
            return false;
        }

        metadata = new LinkingMetadata(accountId, keyIndex, timestampMs);
        return true;
    }

    /// <summary>Serializes the metadata.</summary>
    /// <returns>The bytes to sign and send.</returns>
    public byte[] ToBytes()
    {
        var bytes = new byte[1 + AdvWriter.StringLength(AccountId, nameof(AccountId)) + sizeof(uint) + sizeof(ulong)];
        var writer = new AdvWriter(bytes);
        writer.WriteByte(Version);
        writer.WriteString(AccountId);
        writer.WriteUInt32(KeyIndex);
        writer.WriteUInt64((ulong)TimestampMs);
        return bytes;
    }
}
