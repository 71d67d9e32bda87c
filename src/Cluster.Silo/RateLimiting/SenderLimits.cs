using System.ComponentModel.DataAnnotations;
using Cluster.Abstractions;
using Cluster.Grains;

namespace Cluster.Silo.RateLimiting;

/// <summary>
/// Per-sender token buckets on sends and calls; section <c>SenderLimits</c>. Each is a burst and one more request every
/// refill interval; over it: 429 <c>rate_limited</c> with <c>Retry-After</c>. Counted per silo (see docs/security.md,
/// "Per-sender limits").
/// </summary>
public sealed class SenderLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "SenderLimits";

    /// <summary>
    /// <c>PUT /v1/messages</c> requests one device may make at once, to any destinations: a message to a group of a
    /// thousand is a thousand sends. Default: 1000.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MessagesPerDeviceBurst { get; set; } = 1000;

    /// <summary>One more send per device every this many seconds (10 a second, 36,000 an hour). Default: 0.1.</summary>
    [Range(0.0001, 86_400)]
    public double MessagesPerDeviceRefillSeconds { get; set; } = 0.1;

    /// <summary>
    /// Sends the devices of one account may make at once to one other account (its own account, the sync copies, is
    /// not limited by this). Default: 200.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MessagesPerDestinationBurst { get; set; } = 200;

    /// <summary>
    /// One more send from an account to another every this many seconds (3,600 an hour: a 100,000-envelope queue takes
    /// more than a day to fill from one sender). Default: 1.
    /// </summary>
    [Range(0.0001, 86_400)]
    public double MessagesPerDestinationRefillSeconds { get; set; } = 1;

    /// <summary><c>POST /v1/calls</c> one device may make at once. Default: 20.</summary>
    [Range(1, 10_000_000)]
    public int CallsPerDeviceBurst { get; set; } = 20;

    /// <summary>One more call per device every this many seconds (360 an hour). Default: 10.</summary>
    [Range(0.0001, 86_400)]
    public double CallsPerDeviceRefillSeconds { get; set; } = 10;

    /// <summary>Calls the devices of one account may start at once to one other account. Default: 10.</summary>
    [Range(1, 10_000_000)]
    public int CallsPerDestinationBurst { get; set; } = 10;

    /// <summary>One more call from an account to another every this many seconds (120 an hour). Default: 30.</summary>
    [Range(0.0001, 86_400)]
    public double CallsPerDestinationRefillSeconds { get; set; } = 30;

    /// <summary><c>POST /v1/calls/{id}/ice</c> one device may make at once. Default: 200.</summary>
    [Range(1, 10_000_000)]
    public int IcePerDeviceBurst { get; set; } = 200;

    /// <summary>One more ICE relay per device every this many seconds (20 a second). Default: 0.05.</summary>
    [Range(0.0001, 86_400)]
    public double IcePerDeviceRefillSeconds { get; set; } = 0.05;

    /// <summary>The most keys (devices, pairs of accounts) each limit tracks; see <see cref="TokenBuckets{TKey}"/>. Default: 100000.</summary>
    [Range(1_000, 10_000_000)]
    public int MaxTrackedKeys { get; set; } = 100_000;
}

/// <summary>
/// The per-sender buckets, in this silo's memory: a send costs two bucket updates under a lock, no grain call. A send
/// or call over the per-destination limit gives its per-device token back.
/// </summary>
internal sealed class SenderLimits(IOptions<SenderLimitOptions> options, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
{
    private readonly TokenBuckets<DeviceAddress> messagesByDevice = Buckets<DeviceAddress>(options.Value.MessagesPerDeviceBurst, options.Value.MessagesPerDeviceRefillSeconds, options.Value, time);
    private readonly TokenBuckets<(string, string)> messagesByPair = Buckets<(string, string)>(options.Value.MessagesPerDestinationBurst, options.Value.MessagesPerDestinationRefillSeconds, options.Value, time);
    private readonly TokenBuckets<DeviceAddress> callsByDevice = Buckets<DeviceAddress>(options.Value.CallsPerDeviceBurst, options.Value.CallsPerDeviceRefillSeconds, options.Value, time);
    private readonly TokenBuckets<(string, string)> callsByPair = Buckets<(string, string)>(options.Value.CallsPerDestinationBurst, options.Value.CallsPerDestinationRefillSeconds, options.Value, time);
    private readonly TokenBuckets<DeviceAddress> iceByDevice = Buckets<DeviceAddress>(options.Value.IcePerDeviceBurst, options.Value.IcePerDeviceRefillSeconds, options.Value, time);

    /// <summary>Takes a send of <paramref name="sender"/> to <paramref name="destination"/>; the refusal when over a limit.</summary>
    public RateLimitRefusal? TrySend(DeviceAddress sender, string destination) =>
        TryTake(messagesByDevice, messagesByPair, sender, destination, Limits.MessagesDevice, Limits.MessagesDestination, "messages");

    /// <summary>Takes a call of <paramref name="caller"/> to <paramref name="callee"/>; the refusal when over a limit.</summary>
    public RateLimitRefusal? TryCall(DeviceAddress caller, string callee) =>
        TryTake(callsByDevice, callsByPair, caller, callee, Limits.CallsDevice, Limits.CallsDestination, "calls");

    /// <summary>Takes an ICE relay of <paramref name="device"/>; the refusal when over the limit.</summary>
    public RateLimitRefusal? TryIce(DeviceAddress device) => iceByDevice.TryTake(device, out var wait)
        ? null
        : RateLimitRefusal.TooMany(Limits.IceDevice, wait, "too many ICE candidates from this device");

    private static RateLimitRefusal? TryTake(
        TokenBuckets<DeviceAddress> byDevice, TokenBuckets<(string, string)> byPair, DeviceAddress sender, string destination,
        string deviceLimit, string destinationLimit, string what)
    {
        if (!byDevice.TryTake(sender, out var wait))
        {
            return RateLimitRefusal.TooMany(deviceLimit, wait, $"too many {what} from this device");
        }

        if (!string.Equals(sender.AccountId, destination, StringComparison.Ordinal) && !byPair.TryTake((sender.AccountId, destination), out wait))
        {
            byDevice.Refund(sender);
            return RateLimitRefusal.TooMany(destinationLimit, wait, $"too many {what} from this account to {destination}");
        }

        return null;
    }

    private static TokenBuckets<TKey> Buckets<TKey>(int burst, double refillSeconds, SenderLimitOptions options, TimeProvider time)
        where TKey : notnull => new(burst, TimeSpan.FromSeconds(refillSeconds), options.MaxTrackedKeys, time);
}
