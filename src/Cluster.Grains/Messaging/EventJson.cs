using System.Buffers;
using System.Text.Json;

namespace Cluster.Grains.Messaging;

/// <summary>The JSON of live events (<c>{"type": ...}</c>) sent to a device's socket.</summary>
public static class EventJson
{
    public static byte[] KeysLow(int oneTimeCount, int kemOneTimeCount) => Write(writer =>
    {
        writer.WriteString("type"u8, "keysLow"u8);
        writer.WriteNumber("oneTimeCount"u8, oneTimeCount);
        writer.WriteNumber("kemOneTimeCount"u8, kemOneTimeCount);
    });

    public static byte[] QueueOverflow(long dropped) => Write(writer =>
    {
        writer.WriteString("type"u8, "queueOverflow"u8);
        writer.WriteNumber("dropped"u8, dropped);
    });

    private static byte[] Write(Action<Utf8JsonWriter> members)
    {
        var output = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }
}
