using Cluster.Silo.Hosting;

namespace Cluster.Silo.Messaging;

/// <summary>
/// Messaging's part of a shutdown: device sockets close with 1001 before the silo leaves, so that clients reconnect to
/// another silo at once. Owns nothing; touches <see cref="DeviceSockets"/> only.
/// </summary>
internal sealed class DeviceSocketsShutdown(DeviceSockets sockets) : IShutdownStep
{
    // Bounded by its own wait rather than the host's token: a socket that does not answer the close is aborted after it.
    public Task RunAsync(CancellationToken cancellationToken) => sockets.CloseAllAsync(TimeSpan.FromSeconds(5));
}
