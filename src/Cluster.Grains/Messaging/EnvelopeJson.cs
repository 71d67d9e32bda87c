using System.Buffers;
using System.Text.Json;

namespace Cluster.Grains.Messaging;

/// <summary>
/// Writes an envelope as the JSON a device receives, once, when the server takes the message; the inbox stores these
/// bytes and the socket sends them as they are.
/// </summary>
public static class EnvelopeJson
{
    /// <summary>Envelope type 0: a notice from the server itself (e.g. a missed call).</summary>
    public const int ServerNoticeType = 0;

    /// <summary>Envelope type 7: a group message, one Signal <c>SenderKeyMessage</c> (libsignal's <c>CiphertextMessageType.SenderKey</c>).</summary>
    public const int SenderKeyType = 7;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? buffer;

    public static byte[] Write(
        Guid id, int type, string sourceAccount, int sourceDevice, int destinationDevice, long timestamp, long serverTimestamp, ReadOnlySpan<byte> content, bool urgent,
        string? groupId = null)
    {
        var output = buffer ??= new ArrayBufferWriter<byte>(1024);
        output.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WriteNumber("type"u8, type);
            if (groupId is not null)
            {
                writer.WriteString("groupId"u8, groupId);
            }

            writer.WriteString("sourceAccount"u8, sourceAccount);
            writer.WriteNumber("sourceDevice"u8, sourceDevice);
            writer.WriteNumber("destinationDevice"u8, destinationDevice);
            writer.WriteNumber("timestamp"u8, timestamp);
            writer.WriteNumber("serverTimestamp"u8, serverTimestamp);
            writer.WriteBase64String("content"u8, content);
            writer.WriteBoolean("urgent"u8, urgent);
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Where the content goes in an envelope written with an empty content: the offset just inside the quotes of
    /// <c>"content":""</c>. Only the last property of that name can be it: every string before it is escaped JSON.
    /// </summary>
    public static int ContentOffset(ReadOnlySpan<byte> envelopeWithoutContent)
    {
        var at = envelopeWithoutContent.LastIndexOf("\"content\":\"\""u8);
        if (at < 0)
        {
            throw new ArgumentException("The envelope has no empty content.", nameof(envelopeWithoutContent));
        }

        return at + "\"content\":\""u8.Length;
    }

    /// <summary>The content of a missed-call server notice: UTF-8 JSON <c>{"notice":"missedCall","callId","at"}</c>.</summary>
    public static byte[] MissedCallNotice(string callId, long at)
    {
        var output = new ArrayBufferWriter<byte>(96);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteString("notice"u8, "missedCall"u8);
            writer.WriteString("callId"u8, callId);
            writer.WriteNumber("at"u8, at);
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }
}
