using System.Buffers.Binary;

namespace Cluster.LoadTest.Accounting;

/// <summary>
/// A copy's content: the message id (8 bytes, big-endian), the run's tag (8 bytes), then a filler derived from both up to
/// the requested size, so that a delivered copy names its message and proves its bytes arrived intact.
/// </summary>
internal static class MessagePayload
{
    public const int HeaderBytes = 16;

    public static byte[] Create(long messageId, long runTag, int size)
    {
        var content = new byte[Math.Max(size, HeaderBytes)];
        BinaryPrimitives.WriteInt64BigEndian(content, messageId);
        BinaryPrimitives.WriteInt64BigEndian(content.AsSpan(8), runTag);
        var fill = Filler(messageId, runTag);
        for (var i = HeaderBytes; i < content.Length; i++)
        {
            content[i] = (byte)(fill + i);
        }

        return content;
    }

    /// <summary>The message id of a copy of this run, or null for content that is not one.</summary>
    public static long? TryRead(ReadOnlySpan<byte> content, long runTag)
    {
        if (content.Length < HeaderBytes || BinaryPrimitives.ReadInt64BigEndian(content[8..]) != runTag)
        {
            return null;
        }

        return BinaryPrimitives.ReadInt64BigEndian(content);
    }

    /// <summary>Whether the filler after the header is intact.</summary>
    public static bool IsIntact(ReadOnlySpan<byte> content, long messageId, long runTag, int size)
    {
        if (content.Length != Math.Max(size, HeaderBytes))
        {
            return false;
        }

        var fill = Filler(messageId, runTag);
        for (var i = HeaderBytes; i < content.Length; i++)
        {
            if (content[i] != (byte)(fill + i))
            {
                return false;
            }
        }

        return true;
    }

    private static byte Filler(long messageId, long runTag) => (byte)(messageId ^ runTag ^ (messageId >> 8));
}
