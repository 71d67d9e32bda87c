using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Provisioning;

/// <summary>
/// Counts the provisioning sockets open on this silo, in all and per client address
/// (<see cref="ProvisioningOptions.MaxSockets"/>, <see cref="ProvisioningOptions.MaxSocketsPerClientAddress"/>). A
/// client address is held only while it has a socket open, so the table is no larger than the silo's cap.
/// </summary>
internal sealed class ProvisioningSocketCaps(IOptions<ProvisioningOptions> options)
{
    /// <summary>The wait a refused client is told: sockets free up when a link completes or gives up.</summary>
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private readonly int maxSockets = options.Value.MaxSockets;
    private readonly int maxPerClient = options.Value.MaxSocketsPerClientAddress;
    private readonly Dictionary<string, int> perClient = new(StringComparer.Ordinal);
    private readonly Lock sync = new();
    private int open;

    /// <summary>Takes a socket for <paramref name="client"/>; the refusal when a cap is reached. Pair with <see cref="Release"/>.</summary>
    public RateLimitRefusal? TryTake(string client)
    {
        lock (sync)
        {
            if (open >= maxSockets)
            {
                return new RateLimitRefusal(
                    StatusCodes.Status503ServiceUnavailable, "at_capacity", Limits.ProvisioningSocketsSilo, RetryAfter,
                    $"this silo holds its maximum of {maxSockets} provisioning sockets; connect to another silo");
            }

            var held = perClient.GetValueOrDefault(client);
            if (held >= maxPerClient)
            {
                return RateLimitRefusal.TooMany(
                    Limits.ProvisioningSocketsClient, RetryAfter, $"this client address holds its maximum of {maxPerClient} provisioning sockets");
            }

            perClient[client] = held + 1;
            open++;
            return null;
        }
    }

    public void Release(string client)
    {
        lock (sync)
        {
            open--;
            if (perClient.TryGetValue(client, out var held) && held > 1)
            {
                perClient[client] = held - 1;
            }
            else
            {
                perClient.Remove(client);
            }
        }
    }
}
