using System.Buffers.Text;
using System.Data.Common;

namespace Cluster.Persistence.Inbox;

/// <summary>A group message body, stored once in table <c>group_bodies</c> for every device that receives it.</summary>
/// <param name="Id">The body id; storing an id twice stores it once (a retried send).</param>
/// <param name="ExpiresAt">Unix ms; no row that refers to the body may expire later.</param>
/// <param name="Content">The ciphertext, raw; rows carry it base64-encoded once spliced in.</param>
public sealed record GroupBody(Guid Id, long ExpiresAt, byte[] Content);

/// <summary>An inbox row's reference to its <see cref="GroupBody"/>.</summary>
/// <param name="Id">The body id.</param>
/// <param name="Offset">
/// The byte offset in the row's stored envelope where the base64 content goes (between the quotes of
/// <c>"content":""</c>).
/// </param>
public sealed record InboxBodyRef(Guid Id, int Offset);

/// <summary>
/// The group message bodies: one row per group send, referred to by each receiving device's inbox row
/// (<see cref="InboxRow.Body"/>). Writes go through the inbox's writers, in the same group commits as the rows.
/// </summary>
/// <remarks>
/// The life of a body: <see cref="StoreBodyAsync"/> stores it unsealed before the fan-out appends any row; an unsealed
/// body is kept whatever its rows do, so a device that acks its copy before another device's copy is stored cannot
/// take the body away from it. <see cref="SealBodyAsync"/>, once every copy is durable, seals it; from then on the body
/// is deleted as soon as no row refers to it: by the ack, drop (quota), purge (device removed) or expiry that deleted
/// the last row. <see cref="DeleteExpiredBodiesAsync"/> deletes expired bodies, and sealed ones a crash left with no row
/// (the silo stopped between a row's delete and the body's). A body that was never sealed (the send failed half way and
/// was not retried) stays until it expires.
/// </remarks>
public interface IGroupBodyStore
{
    /// <summary>
    /// Stores a body unsealed; completes once durable. A body already stored (a retried send) is unsealed again and
    /// keeps the later expiry of the two.
    /// </summary>
    Task StoreBodyAsync(GroupBody body, CancellationToken cancellationToken = default);

    /// <summary>Seals a body (every copy is stored) and deletes it when no row refers to it any more; completes once durable.</summary>
    Task SealBodyAsync(Guid id, CancellationToken cancellationToken = default);

    /// <summary>Deletes up to <paramref name="limit"/> bodies expired before <paramref name="now"/>, or sealed with no row referring to them; returns how many went.</summary>
    Task<int> DeleteExpiredBodiesAsync(long now, int limit, CancellationToken cancellationToken = default);
}

/// <summary>Putting a body back into its envelope, for both engines and for the device grain's in-memory copies.</summary>
public static class GroupBodies
{
    /// <summary>
    /// The envelope a device receives: <paramref name="head"/> (the envelope with an empty content) with the base64 of
    /// <paramref name="content"/> at <paramref name="offset"/>, byte for byte what the envelope writer would have written.
    /// </summary>
    public static byte[] Splice(ReadOnlySpan<byte> head, int offset, ReadOnlySpan<byte> content)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, head.Length);
        var encoded = Base64.GetMaxEncodedToUtf8Length(content.Length);
        var envelope = new byte[head.Length + encoded];
        head[..offset].CopyTo(envelope);
        Base64.EncodeToUtf8(content, envelope.AsSpan(offset, encoded), out _, out var written);
        head[offset..].CopyTo(envelope.AsSpan(offset + written));
        return envelope;
    }

    /// <summary>
    /// A row as read back, from the columns (seq, id, expires_at, envelope, body_id, body_at, content): a direct
    /// envelope as stored, a group copy with its body spliced in.
    /// </summary>
    internal static InboxRow Read(string device, DbDataReader reader)
    {
        var envelope = reader.GetFieldValue<byte[]>(3);
        if (reader.IsDBNull(4) || reader.IsDBNull(5) || reader.IsDBNull(6))
        {
            return new InboxRow(device, reader.GetInt64(0), reader.GetGuid(1), reader.GetInt64(2), envelope);
        }

        var body = new InboxBodyRef(reader.GetGuid(4), reader.GetInt32(5));
        return new InboxRow(
            device, reader.GetInt64(0), reader.GetGuid(1), reader.GetInt64(2), Splice(envelope, body.Offset, reader.GetFieldValue<byte[]>(6)), body);
    }
}
