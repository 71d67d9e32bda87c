using System.ComponentModel.DataAnnotations;

namespace Cluster.Silo.Provisioning;

/// <summary>Provisioning sockets; section <c>Provisioning</c>.</summary>
public sealed class ProvisioningOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Provisioning";

    /// <summary>How long a provisioning socket waits for its body before it closes by itself. Default: 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SocketLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The most provisioning sockets this silo holds at once (they are anonymous, so they have a cap of their own
    /// besides <c>Cluster:MaxConnections</c>); past it an upgrade is refused with 503 <c>at_capacity</c>. Default: 1000.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxSockets { get; set; } = 1000;

    /// <summary>
    /// The most provisioning sockets one client address holds open on this silo; past it an upgrade is refused with
    /// 429 <c>rate_limited</c>. Default: 10.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxSocketsPerClientAddress { get; set; } = 10;
}
