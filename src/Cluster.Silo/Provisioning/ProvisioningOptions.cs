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
}
