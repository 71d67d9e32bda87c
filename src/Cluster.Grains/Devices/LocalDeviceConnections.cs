using Cluster.Abstractions.Messaging;

namespace Cluster.Grains.Devices;

/// <summary>
/// The device sockets open on this silo, by connection id. A device grain whose socket is open on its own silo (the usual
/// case: the grain moves to its socket's silo) pushes to the socket object itself rather than through the socket's
/// observer reference, which would cost an Orleans message, its scheduling and a thread hop for every frame pushed.
/// </summary>
public interface ILocalDeviceConnections
{
    /// <summary>The socket with this connection id if it is open on this silo, else null (the grain uses the reference).</summary>
    IDeviceConnection? Find(Guid connectionId);
}
