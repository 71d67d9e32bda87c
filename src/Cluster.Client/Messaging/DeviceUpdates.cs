namespace Cluster.Client.Messaging;

/// <summary>What a <see cref="DeviceConnection"/> reports, in the order it happened.</summary>
public abstract record DeviceUpdate;

/// <summary>An envelope for this device. Ack it (<see cref="DeviceConnection.AckAsync(IEnumerable{Guid}, CancellationToken)"/>) once it is safely processed; until then it is re-sent after a reconnect (and deduplicated here).</summary>
/// <param name="Envelope">The envelope.</param>
public sealed record EnvelopeReceived(Envelope Envelope) : DeviceUpdate;

/// <summary>A live event.</summary>
/// <param name="Event">The event.</param>
public sealed record EventReceived(DeviceEvent Event) : DeviceUpdate;

/// <summary>The backlog stored before this connection was made has been sent (<c>queueEmpty</c>); once per connection.</summary>
public sealed record QueueEmpty : DeviceUpdate;

/// <summary>A socket is open.</summary>
/// <param name="Gateway">The gateway it is open to.</param>
/// <param name="Connection">1 for the first connection, 2 after the first reconnect, and so on.</param>
public sealed record Connected(Uri Gateway, int Connection) : DeviceUpdate;

/// <summary>The socket closed; the connection will reconnect unless it stopped (see <see cref="DeviceConnection.Stopped"/>).</summary>
/// <param name="CloseStatus">The WebSocket close status the server sent, or null when the connection broke without one.</param>
/// <param name="Description">The close reason, or the error that broke the connection.</param>
public sealed record Disconnected(int? CloseStatus, string? Description) : DeviceUpdate;

/// <summary>Why a <see cref="DeviceConnection"/> stopped for good.</summary>
public enum DeviceConnectionStopReason
{
    /// <summary>It was disposed.</summary>
    Disposed,

    /// <summary>Another socket of the same device connected (close code 4409); reconnecting would only fight it.</summary>
    ConnectedElsewhere,

    /// <summary>The device was unlinked (close code 4401).</summary>
    DeviceRemoved,

    /// <summary>The server refused the credentials (401/403 on the upgrade).</summary>
    Unauthorized,
}
