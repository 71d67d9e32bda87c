using Cluster.Abstractions.Provisioning;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Placement;

namespace Cluster.Grains.Provisioning;

/// <summary>
/// A provisioning address. Its state lives in memory only: an address is 128 random bits that only the socket handler
/// ever attaches to, so a reactivation that forgot a used address is harmless (no socket waits there, a PUT gets 404).
/// Not reentrant: every call is a few field reads and writes, and one-at-a-time is what makes "relayed once" true.
/// </summary>
[PreferLocalPlacement] // The socket's silo activates it by attaching, so the relay to the socket stays on that silo.
[CollectionAgeLimit(Minutes = 2)] // The socket pings every 30 s while it waits; once used, nothing needs the activation.
internal sealed class ProvisioningGrain([FromKeyedServices(ClusterClock.Key)] TimeProvider time) : Grain, IProvisioningGrain
{
    private IProvisioningSocket? socket;
    private DateTimeOffset expiresAt;
    private bool usedUp;

    public Task<bool> AttachAsync(IProvisioningSocket socket, DateTimeOffset expiresAt)
    {
        if (usedUp)
        {
            return Task.FromResult(false);
        }

        this.socket = socket;
        this.expiresAt = expiresAt;
        return Task.FromResult(true);
    }

    public Task<bool> PingAsync() => Task.FromResult(socket is not null);

    public async Task<bool> ProvisionAsync(string body)
    {
        if (socket is not { } waiting)
        {
            return false;
        }

        UseUp();
        if (time.GetUtcNow() >= expiresAt)
        {
            return false;
        }

        await waiting.ProvisionAsync(body);
        return true;
    }

    public Task DetachAsync()
    {
        UseUp();
        return Task.CompletedTask;
    }

    private void UseUp()
    {
        socket = null;
        usedUp = true;
    }
}
