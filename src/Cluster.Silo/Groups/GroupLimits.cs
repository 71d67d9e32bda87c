using System.ComponentModel.DataAnnotations;
using Cluster.Abstractions;
using Cluster.Grains;
using Cluster.Silo.Authentication;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Groups;

/// <summary>
/// Per-device token buckets on the group routes; section <c>GroupLimits</c>. Each is a burst and one more request every
/// refill interval; over it: 429 <c>rate_limited</c> with <c>Retry-After</c> (limit <c>group_sends_device</c> or
/// <c>group_changes_device</c>). Counted per silo, like the other per-sender limits.
/// </summary>
public sealed class GroupLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GroupLimits";

    /// <summary><c>PUT /v1/groups/{groupId}/messages</c> one device may make at once (each fans out to every member device). Default: 100.</summary>
    [Range(1, 10_000_000)]
    public int SendsPerDeviceBurst { get; set; } = 100;

    /// <summary>One more group send per device every this many seconds (5 a second). Default: 0.2.</summary>
    [Range(0.0001, 86_400)]
    public double SendsPerDeviceRefillSeconds { get; set; } = 0.2;

    /// <summary>
    /// Group changes one device may make at once: create, add and remove members, leave, promote, demote, set the info
    /// (each tells every member device). Reads are not limited by this. Default: 60.
    /// </summary>
    [Range(1, 10_000_000)]
    public int ChangesPerDeviceBurst { get; set; } = 60;

    /// <summary>One more group change per device every this many seconds (one a second). Default: 1.</summary>
    [Range(0.0001, 86_400)]
    public double ChangesPerDeviceRefillSeconds { get; set; } = 1;

    /// <summary>The most devices each limit tracks (see <see cref="TokenBuckets{TKey}"/>). Default: 100000.</summary>
    [Range(1_000, 10_000_000)]
    public int MaxTrackedKeys { get; set; } = 100_000;
}

/// <summary>The group buckets in this silo's memory, the change routes' as an endpoint filter (<see cref="Changes"/>), the send route's by <see cref="GroupSends"/>; both before the body is read.</summary>
internal sealed class GroupLimits(IOptions<GroupLimitOptions> options, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
{
    private readonly TokenBuckets<DeviceAddress> sends = new(
        options.Value.SendsPerDeviceBurst, TimeSpan.FromSeconds(options.Value.SendsPerDeviceRefillSeconds), options.Value.MaxTrackedKeys, time);

    private readonly TokenBuckets<DeviceAddress> changes = new(
        options.Value.ChangesPerDeviceBurst, TimeSpan.FromSeconds(options.Value.ChangesPerDeviceRefillSeconds), options.Value.MaxTrackedKeys, time);

    /// <summary>
    /// Takes a group send of <paramref name="device"/>, over HTTP or the socket alike (<see cref="GroupSends"/>); the
    /// refusal when over the limit.
    /// </summary>
    public RateLimitRefusal? TrySend(DeviceAddress device) => sends.TryTake(device, out var wait)
        ? null
        : RateLimitRefusal.TooMany(Limits.GroupSendsDevice, wait, "too many group sends from this device");

    /// <summary>The filter of the group change routes.</summary>
    public static ValueTask<object?> Changes(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        Filter(context, next, static limits => limits.changes, Limits.GroupChangesDevice, "too many group changes from this device");

    private static ValueTask<object?> Filter(
        EndpointFilterInvocationContext context, EndpointFilterDelegate next, Func<GroupLimits, TokenBuckets<DeviceAddress>> buckets, string limit, string message)
    {
        var http = context.HttpContext;
        var limits = http.RequestServices.GetRequiredService<GroupLimits>();
        return buckets(limits).TryTake(http.Device().Address, out var wait)
            ? next(context)
            : ValueTask.FromResult<object?>(RateLimitRefusal.TooMany(limit, wait, message).ToResult(http));
    }
}
