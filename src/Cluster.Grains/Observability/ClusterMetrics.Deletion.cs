using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Account deletion (AccountGrain.Deletion.cs, DELETE /v1/account).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Accounts deleted by their primary.</summary>
    public static readonly Counter<long> AccountsDeleted = Meter.CreateCounter<long>("cluster_accounts_deleted_total", description: "Accounts deleted by their primary");
}
