using System.ComponentModel.DataAnnotations;
using Cluster.Grains;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Authentication;

/// <summary>Failed-login throttling; section <c>Auth:Throttle</c>.</summary>
public sealed class CredentialThrottleOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Auth:Throttle";

    /// <summary>
    /// Failed logins one device address (existing or not) may have before further checks of it are refused (429)
    /// without hashing. Default: 10.
    /// </summary>
    [Range(1, 1_000_000)]
    public int FailuresPerDevice { get; set; } = 10;

    /// <summary>One more failed login per device address is allowed every this many seconds. Default: 60.</summary>
    [Range(0.001, 86_400)]
    public double DeviceRefillSeconds { get; set; } = 60;

    /// <summary>Failed logins one client address may have, over all devices, before its checks are refused (429). Default: 50.</summary>
    [Range(1, 1_000_000)]
    public int FailuresPerClientAddress { get; set; } = 50;

    /// <summary>One more failed login per client address is allowed every this many seconds (10 a minute). Default: 6.</summary>
    [Range(0.001, 86_400)]
    public double ClientAddressRefillSeconds { get; set; } = 6;

    /// <summary>
    /// How long a login refused for a spent budget (429) is held before it is answered. A script looping over a refused
    /// login on a connection then costs the silo one held request a second instead of a core's worth of 429s, and
    /// the connection it holds is one it could hold idle anyway (bounded by <c>Cluster:MaxConnections</c>). 0 answers at
    /// once. Default: 1000 (one second).
    /// </summary>
    [Range(0, 10_000)]
    public int RefusalDelayMilliseconds { get; set; } = 1000;

    /// <summary>The most device addresses, and client addresses, tracked each (see <c>TokenBuckets</c>). Default: 100000.</summary>
    [Range(1_000, 10_000_000)]
    public int MaxTrackedKeys { get; set; } = 100_000;
}

/// <summary>
/// Failed-login budgets per device address and per client address, in this silo's memory. Each login that needs a full
/// hash takes a token from both before it hashes (so a burst of concurrent attempts cannot overshoot), and a login
/// that succeeds, or is not checked at all, gives them back: only failures use the budget.
/// </summary>
internal sealed class CredentialThrottle(IOptions<CredentialThrottleOptions> options, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
{
    private readonly TokenBuckets<string> devices = new(
        options.Value.FailuresPerDevice, TimeSpan.FromSeconds(options.Value.DeviceRefillSeconds), options.Value.MaxTrackedKeys, time);

    private readonly TokenBuckets<string> clients = new(
        options.Value.FailuresPerClientAddress, TimeSpan.FromSeconds(options.Value.ClientAddressRefillSeconds), options.Value.MaxTrackedKeys, time);

    /// <summary>Takes a token of the device and of the client for one check; the refusal when either has none left.</summary>
    public RateLimitRefusal? TryBegin(string device, string client)
    {
        if (!devices.TryTake(device, out var wait))
        {
            return RateLimitRefusal.TooMany(Limits.AuthFailuresDevice, wait, "too many failed logins for this device");
        }

        if (!clients.TryTake(client, out wait))
        {
            devices.Refund(device);
            return RateLimitRefusal.TooMany(Limits.AuthFailuresClient, wait, "too many failed logins from this client address");
        }

        return null;
    }

    /// <summary>How long a refusal of <see cref="TryBegin"/> is held before it is answered.</summary>
    public TimeSpan RefusalDelay { get; } = TimeSpan.FromMilliseconds(options.Value.RefusalDelayMilliseconds);

    /// <summary>The check begun with <see cref="TryBegin"/> did not fail: its tokens go back.</summary>
    public void Refund(string device, string client)
    {
        devices.Refund(device);
        clients.Refund(client);
    }
}
