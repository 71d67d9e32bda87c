using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Blobs (the blob endpoints).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Blob uploads refused for the account's quota (label <c>limit</c>: bytes or count).</summary>
    public static readonly Counter<long> BlobQuotaExceeded = Meter.CreateCounter<long>("cluster_blob_quota_exceeded_total", description: "Blob uploads refused because the account's blob quota was reached, by limit");
}
