using Microsoft.Extensions.DependencyInjection;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Cluster.Grains.Devices;

/// <summary>
/// Device grains live on the silo that holds their device's socket, where every push and every ack is a local call.
/// The socket path names its silo in the request context of the calls that attach a socket
/// (<see cref="SocketSiloKey"/>); an activation those calls cause is placed there, and a device grain already active
/// elsewhere moves there (<c>DeviceGrain.ConnectAsync</c>). Every other activation (a sender's enqueue, a prekey fetch)
/// is placed by Orleans' default placement. When the silo is configured not to name its silo
/// (<c>Cluster:DevicePlacement=Default</c>), device grains are placed exactly as by the default.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class SocketPlacement : PlacementStrategy
{
    /// <summary>The request-context key under which an attach call carries the <see cref="SiloAddress"/> of its socket.</summary>
    public const string SocketSiloKey = "cluster.socket-silo";

    /// <summary>The socket's silo named by the request being served, if any.</summary>
    public static SiloAddress? CurrentSocketSilo => RequestContext.Get(SocketSiloKey) as SiloAddress;

    /// <summary>The socket's silo named by a request context, if any.</summary>
    public static SiloAddress? SocketSilo(IReadOnlyDictionary<string, object>? requestContext) =>
        requestContext is not null && requestContext.TryGetValue(SocketSiloKey, out var value) ? value as SiloAddress : null;
}

/// <summary>Places the grain by <see cref="SocketPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class SocketPlacementAttribute() : PlacementAttribute(new SocketPlacement());

/// <summary>
/// Places an activation on the socket's silo named in the request, when that silo can host it; otherwise defers to
/// Orleans' default placement strategy and director (resource-optimized in Orleans 10). The named silo is used rather
/// than the local one because placement may run on another silo than the socket's (a rerouted call, a migration).
/// </summary>
internal sealed class SocketPlacementDirector : IPlacementDirector
{
    private readonly PlacementStrategy fallbackStrategy;
    private readonly IPlacementDirector fallback;

    public SocketPlacementDirector(IServiceProvider services)
    {
        fallbackStrategy = services.GetRequiredService<PlacementStrategy>();
        fallback = services.GetRequiredService<PlacementDirectorResolver>().GetPlacementDirector(fallbackStrategy);
    }

    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        if (SocketPlacement.SocketSilo(target.RequestContextData) is { } socketSilo
            && Array.IndexOf(context.GetCompatibleSilos(target), socketSilo) >= 0)
        {
            return Task.FromResult(socketSilo);
        }

        return fallback.OnAddActivation(fallbackStrategy, target, context);
    }
}
