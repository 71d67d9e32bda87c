namespace Cluster.Client.Messaging;

/// <summary>One device's copy of a message: ciphertext made for that device alone.</summary>
/// <param name="DeviceId">The destination device.</param>
/// <param name="RegistrationId">The destination device's registration id, as the sender's session knows it.</param>
/// <param name="Type">The Signal message type (envelope type 0 is reserved for server notices).</param>
/// <param name="Content">The ciphertext, at most 96 KiB by default.</param>
public sealed record DeviceCopy(int DeviceId, int RegistrationId, int Type, byte[] Content);

/// <summary>The body of <c>PUT /v1/messages/{accountId}</c>: one copy per destination device.</summary>
public sealed record OutgoingMessage
{
    /// <summary>Every device of the destination, each once (for one's own account: every own device but the sender).</summary>
    public required IReadOnlyList<DeviceCopy> Messages { get; init; }

    /// <summary>The client's timestamp (Unix ms), carried to the recipients.</summary>
    public required long Timestamp { get; init; }

    /// <summary>Ephemeral: delivered only to connected devices, never stored.</summary>
    public bool Online { get; init; }

    /// <summary>Whether the recipients should be woken for it.</summary>
    public bool Urgent { get; init; } = true;

    /// <summary>Makes retries safe: the same id from the same device to the same account within 24 hours is stored once.</summary>
    public string? ClientMessageId { get; init; }
}

/// <summary>The answer to a send that was stored.</summary>
/// <param name="NeedsSync">Whether the sender has other devices that need a sync copy.</param>
public sealed record SendResult(bool NeedsSync);

/// <summary>A message as a device receives it.</summary>
/// <param name="Id">The envelope id: unique, stable across re-deliveries (dedup by it).</param>
/// <param name="Type">The Signal message type; 0 is a server notice.</param>
/// <param name="SourceAccount">The sender's account.</param>
/// <param name="SourceDevice">The sender's device.</param>
/// <param name="DestinationDevice">This device.</param>
/// <param name="Timestamp">The sender's timestamp (Unix ms).</param>
/// <param name="ServerTimestamp">When the server stored it (Unix ms).</param>
/// <param name="Content">The ciphertext.</param>
/// <param name="Urgent">Whether the sender marked it urgent.</param>
/// <param name="GroupId">For a group message (type 7, a sender-key ciphertext): the group; otherwise null.</param>
public sealed record Envelope(
    Guid Id, int Type, string SourceAccount, int SourceDevice, int DestinationDevice, long Timestamp, long ServerTimestamp, byte[] Content, bool Urgent,
    string? GroupId = null);

/// <summary>A page of <c>GET /v1/messages</c>.</summary>
/// <param name="Envelopes">Up to 100 envelopes, oldest first.</param>
/// <param name="More">Whether more are waiting.</param>
public sealed record MessagePage(IReadOnlyList<Envelope> Envelopes, bool More);

/// <summary>How <see cref="ClusterClient.SendMessageAsync"/> reaches the server.</summary>
public enum SendTransport
{
    /// <summary>Over the device's socket (<see cref="ClusterClient.Connection"/>) while it is connected, else HTTP.</summary>
    Socket,

    /// <summary>Always HTTP (<c>PUT /v1/messages/{accountId}</c>), even with a socket connected.</summary>
    Http,
}
