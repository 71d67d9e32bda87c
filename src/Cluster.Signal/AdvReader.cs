using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text.Unicode;

namespace Cluster.Signal;

/// <summary>Reads the big-endian fields of the ADV structures, turning every malformation into a
/// <see cref="FormatError"/> instead of an exception.</summary>
internal ref struct AdvReader(ReadOnlySpan<byte> bytes, string structure)
{
    private ReadOnlySpan<byte> rest = bytes;

    public bool TryReadVersion(byte expected, [NotNullWhen(false)] out FormatError? error)
    {
        if (!TryTake(1, "version", out var field, out error))
        {
            return false;
        }

        if (field[0] != expected)
        {
            error = new FormatError(
                FormatProblem.UnsupportedVersion,
                $"{structure} version {field[0]} is not supported (expected {expected})");
            return false;
        }

        return true;
    }

    public bool TryReadUInt16(string name, out ushort value, [NotNullWhen(false)] out FormatError? error)
    {
        value = TryTake(sizeof(ushort), name, out var field, out error) ? BinaryPrimitives.ReadUInt16BigEndian(field) : default;
        return error is null;
    }

    public bool TryReadUInt32(string name, out uint value, [NotNullWhen(false)] out FormatError? error)
    {
        value = TryTake(sizeof(uint), name, out var field, out error) ? BinaryPrimitives.ReadUInt32BigEndian(field) : default;
        return error is null;
    }

    /// <summary>Reads <paramref name="count"/> u32 values, checking that they are all there before allocating.</summary>
    public bool TryReadUInt32List(string name, int count, [NotNullWhen(true)] out uint[]? values, [NotNullWhen(false)] out FormatError? error)
    {
        values = null;
        if (!TryTake(count * sizeof(uint), name, out var field, out error))
        {
            return false;
        }

        values = new uint[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt32BigEndian(field[(i * sizeof(uint))..]);
        }

        return true;
    }

    /// <summary>Reads a u64 millisecond timestamp; values past <see cref="long.MaxValue"/> are refused because
    /// times are <see cref="long"/> everywhere else in the protocol.</summary>
    public bool TryReadTimestamp(string name, out long value, [NotNullWhen(false)] out FormatError? error)
    {
        value = default;
        if (!TryTake(sizeof(ulong), name, out var field, out error))
        {
            return false;
        }

        var raw = BinaryPrimitives.ReadUInt64BigEndian(field);
        if (raw > long.MaxValue)
        {
            error = new FormatError(FormatProblem.OutOfRange, $"{structure} {name} {raw} is out of range");
            return false;
        }

        value = (long)raw;
        return true;
    }

    public bool TryReadString(string name, [NotNullWhen(true)] out string? value, [NotNullWhen(false)] out FormatError? error)
    {
        value = null;
        if (!TryReadUInt16(name + " length", out var length, out error) || !TryTake(length, name, out var field, out error))
        {
            return false;
        }

        if (!Utf8.IsValid(field))
        {
            error = new FormatError(FormatProblem.InvalidUtf8, $"{structure} {name} is not valid UTF-8");
            return false;
        }

        value = AdvWriter.StrictUtf8.GetString(field);
        return true;
    }

    public readonly bool TryReadEnd([NotNullWhen(false)] out FormatError? error)
    {
        error = rest.IsEmpty
            ? null
            : new FormatError(FormatProblem.TrailingBytes, $"{structure} has {rest.Length} bytes after its last field");
        return error is null;
    }

    private bool TryTake(int count, string name, out ReadOnlySpan<byte> field, [NotNullWhen(false)] out FormatError? error)
    {
        if (rest.Length < count)
        {
            field = default;
            error = new FormatError(FormatProblem.Truncated, $"{structure} ends inside its {name}");
            return false;
        }

        field = rest[..count];
        rest = rest[count..];
        error = null;
        return true;
    }
}
