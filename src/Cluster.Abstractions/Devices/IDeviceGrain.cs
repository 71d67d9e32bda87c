using Cluster.Abstractions.Keys;
using Cluster.Abstractions.Messaging;

namespace Cluster.Abstractions.Devices;

/// <summary>One device (key: <c>accountId.deviceId</c>): its prekeys, its inbox and its live connection.</summary>
[Alias("IDeviceGrain")]
public interface IDeviceGrain : IGrainWithStringKey
{
    /// <summary>Replaces every key of the device: used when the device is created.</summary>
    [Alias("InitializeKeys")]
    Task InitializeKeysAsync(PreKeyUpload keys);

    /// <summary>Stores an upload of keys (see <see cref="PreKeyUpload"/> for what replaces what).</summary>
    [Alias("UploadKeys")]
    Task UploadKeysAsync(PreKeyUpload keys);

    /// <summary>How many one-time keys are left.</summary>
    [Alias("GetCounts")]
    Task<PreKeyCounts> GetCountsAsync();

    /// <summary>Hands out a bundle, consuming one one-time key of each kind when there is one. Null when the device has no keys.</summary>
    [Alias("TakeBundle")]
    Task<PreKeyBundle?> TakeBundleAsync();

    /// <summary>Forgets every key (the device was removed).</summary>
    [Alias("ClearKeys")]
    Task ClearKeysAsync();

    /// <summary>Stores envelopes in the inbox; completes once they are durable, then pushes them to the socket if connected.</summary>
    [Alias("Enqueue")]
    Task EnqueueAsync(IReadOnlyList<InboxEnvelope> envelopes);

    /// <summary>Pushes an ephemeral envelope to the socket if the device is connected; never stores it.</summary>
    [Alias("DeliverEphemeral")]
    Task DeliverEphemeralAsync(byte[] envelopeJson);

    /// <summary>Pushes a live event (its JSON) if the device is connected; events are never stored.</summary>
    [Alias("PublishEvent")]
    Task PublishEventAsync(byte[] eventJson);

    /// <summary>
    /// Pushes a live event (its JSON) if the device is connected, and says whether it was: false when no socket is
    /// attached (the event is dropped, never stored).
    /// </summary>
    [Alias("TryPublishEvent")]
    Task<bool> TryPublishEventAsync(byte[] eventJson);

    /// <summary>
    /// Begins a new incarnation of this device id (a device registered, or a companion linked under an id that may have
    /// been used before): only sockets authenticated as this incarnation attach from now on. Run before the device's
    /// credentials are stored.
    /// </summary>
    /// <param name="incarnation">The incarnation the account records for the device (<see cref="Accounts.DeviceCredential.Incarnation"/>).</param>
    [Alias("BeginIncarnation")]
    Task BeginIncarnationAsync(Guid incarnation);

    /// <summary>
    /// Attaches the device's socket: sends the backlog, then queueEmpty, then live envelopes. Of two sockets, the one
    /// accepted later stays and the other is closed with 4409, whatever order their attach calls arrive in. A socket
    /// authenticated as another incarnation of the device id, or as a device that was removed, is refused and closed
    /// with 4401.
    /// </summary>
    /// <param name="connection">The socket's observer on the silo that holds it.</param>
    /// <param name="connectionId">The socket's id.</param>
    /// <param name="acceptedAt">When that silo accepted the socket (UTC ticks).</param>
    /// <param name="incarnation">The incarnation of the device the socket authenticated as (from its credential).</param>
    /// <returns><see cref="SocketAttachment.Attached"/>, <see cref="SocketAttachment.Replaced"/> (a newer socket is attached; this one is closed with 4409) or <see cref="SocketAttachment.Refused"/>.</returns>
    [Alias("ConnectIncarnation")]
    Task<SocketAttachment> ConnectAsync(IDeviceConnection connection, Guid connectionId, long acceptedAt, Guid incarnation);

    /// <summary>Whether <paramref name="connectionId"/> is still the attached socket, was replaced by another, or is unknown (the grain was reactivated elsewhere).</summary>
    [Alias("Ping")]
    Task<SocketAttachment> PingAsync(Guid connectionId);

    /// <summary>Detaches the socket if it is still the attached one.</summary>
    [Alias("Disconnect")]
    Task DisconnectAsync(Guid connectionId);

    /// <summary>Acknowledges envelopes: they are deleted for good. Unknown ids are ignored.</summary>
    [Alias("Ack")]
    Task AckAsync(IReadOnlyList<Guid> ids);

    /// <summary>
    /// Acknowledges envelopes received on socket <paramref name="connectionId"/>, only if it is the attached socket;
    /// otherwise nothing is acked and the answer says why (<see cref="SocketAttachment.Detached"/>: attach again;
    /// <see cref="SocketAttachment.Replaced"/>: another socket is attached).
    /// </summary>
    [Alias("SocketAck")]
    Task<SocketAttachment> SocketAckAsync(Guid connectionId, IReadOnlyList<Guid> ids);

    /// <summary>The oldest stored envelopes, for clients without a socket.</summary>
    [Alias("Fetch")]
    Task<InboxPage> FetchAsync(int limit);

    /// <summary>
    /// Forgets the device: closes its socket with 4401, deletes its queue and its keys. Idempotent; also run before a
    /// device id is given to a new device.
    /// </summary>
    [Alias("Remove")]
    Task RemoveAsync();

    /// <summary>As <see cref="RemoveAsync"/>, then clears the device's stored state too (account deletion: nothing is kept).</summary>
    [Alias("Delete")]
    Task DeleteAsync();
}

/// <summary>What a device grain knows of a socket that asks.</summary>
public enum SocketAttachment
{
    /// <summary>It is the device's attached socket.</summary>
    Attached,

    /// <summary>Another socket of the device is attached now: this one lost (4409).</summary>
    Replaced,

    /// <summary>No socket is attached (the grain was reactivated): this one should attach again.</summary>
    Detached,

    /// <summary>The socket authenticated as a device that was removed, or as an earlier device under a reused id: closed with 4401.</summary>
    Refused,
}
