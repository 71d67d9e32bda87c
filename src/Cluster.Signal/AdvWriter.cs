using System.Buffers.Binary;
using System.Text;

namespace Cluster.Signal;

/// <summary>Writes the big-endian fields of the ADV structures.</summary>
internal ref struct AdvWriter(Span<byte> destination)
{
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private Span<byte> rest = destination;

    /// <summary>The encoded length of a <c>str</c> field, after checking that it fits its u16 length.</summary>
    public static int StringLength(string value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        var length = StrictUtf8.GetByteCount(value);
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException($"Encodes to {length} UTF-8 bytes; a str field holds at most {ushort.MaxValue}.", paramName);
        }

        return sizeof(ushort) + length;
    }

    public void WriteByte(byte value) => Take(1)[0] = value;

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(sizeof(ushort)), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(sizeof(uint)), value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Take(sizeof(ulong)), value);

    public void WriteString(string value)
    {
        var length = StrictUtf8.GetByteCount(value);
        WriteUInt16((ushort)length);
        StrictUtf8.GetBytes(value, Take(length));
    }

    private Span<byte> Take(int count)
    {
        var field = rest[..count];
        rest = rest[count..];
        return field;
    }
}
