using System.Buffers;
using System.Text.Encodings.Web;
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

    /// <summary><c>deviceListChanged</c>: <paramref name="accountId"/>'s devices changed; its device list is now at <paramref name="version"/>.</summary>
    /// <remarks>
    /// Written with <see cref="Unescaped"/>, so that the bytes stay those this event has always had (the <c>+</c> of an
    /// E.164 account id as it is, not <c>\u002B</c>).
    /// </remarks>
    public static byte[] DeviceListChanged(string accountId, long version) => Write(
        writer =>
        {
            writer.WriteString("type"u8, "deviceListChanged"u8);
            writer.WriteString("accountId"u8, accountId);
            writer.WriteNumber("version"u8, version);
        },
        Unescaped);

    /// <summary><c>companionsExpiring</c>: the primary has been away; every companion is unlinked at <paramref name="unlinkAt"/> (Unix ms) unless it connects first.</summary>
    public static byte[] CompanionsExpiring(long unlinkAt) => Write(writer =>
    {
        writer.WriteString("type"u8, "companionsExpiring"u8);
        writer.WriteNumber("unlinkAt"u8, unlinkAt);
    });

    /// <summary><c>callOffer</c>: the offer sealed for the receiving device alone.</summary>
    public static byte[] CallOffer(string callId, string from, int fromDevice, byte[] payload) => Write(writer =>
    {
        writer.WriteString("type"u8, "callOffer"u8);
        writer.WriteString("callId"u8, callId);
        writer.WriteString("from"u8, from);
        writer.WriteNumber("fromDevice"u8, fromDevice);
        writer.WriteBase64String("payload"u8, payload);
    });

    /// <summary><c>callAnswered</c>, to the caller device: who answered, with the answer's payload.</summary>
    public static byte[] CallAnswered(string callId, int byDevice, byte[] payload) => Write(writer =>
    {
        writer.WriteString("type"u8, "callAnswered"u8);
        writer.WriteString("callId"u8, callId);
        writer.WriteNumber("byDevice"u8, byDevice);
        writer.WriteBase64String("payload"u8, payload);
    });

    /// <summary><c>callAnsweredElsewhere</c>, to every callee device but the one that answered.</summary>
    public static byte[] CallAnsweredElsewhere(string callId) => Write(writer =>
    {
        writer.WriteString("type"u8, "callAnsweredElsewhere"u8);
        writer.WriteString("callId"u8, callId);
    });

    /// <summary><c>callIce</c>, relayed to the other party's device.</summary>
    public static byte[] CallIce(string callId, byte[] payload) => Write(writer =>
    {
        writer.WriteString("type"u8, "callIce"u8);
        writer.WriteString("callId"u8, callId);
        writer.WriteBase64String("payload"u8, payload);
    });

    /// <summary><c>callEnded</c> with its reason (<c>rejected</c>, <c>hangup</c> or <c>timeout</c>).</summary>
    public static byte[] CallEnded(string callId, string reason) => Write(writer =>
    {
        writer.WriteString("type"u8, "callEnded"u8);
        writer.WriteString("callId"u8, callId);
        writer.WriteString("reason"u8, reason);
    });

    /// <summary><c>appStateChanged</c>, to an account's other devices: a collection has a new version to fetch.</summary>
    public static byte[] AppStateChanged(string collection, long version) => Write(writer =>
    {
        writer.WriteString("type"u8, "appStateChanged"u8);
        writer.WriteString("collection"u8, collection);
        writer.WriteNumber("version"u8, version);
    });

    /// <summary><c>groupChanged</c>, to every member device: the group's membership or info changed; fetch it at these versions.</summary>
    public static byte[] GroupChanged(string groupId, long membershipVersion, long infoVersion) => Write(writer =>
    {
        writer.WriteString("type"u8, "groupChanged"u8);
        writer.WriteString("groupId"u8, groupId);
        writer.WriteNumber("membershipVersion"u8, membershipVersion);
        writer.WriteNumber("infoVersion"u8, infoVersion);
    });

    // Escapes only what JSON requires (quotes, backslashes, control characters); for text never embedded in HTML.
    private static readonly JsonWriterOptions Unescaped = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static byte[] Write(Action<Utf8JsonWriter> members, JsonWriterOptions options = default)
    {
        var output = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(output, options))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }
}
