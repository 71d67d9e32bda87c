using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Account deletion (AccountGrain.Deletion.cs, DELETE /v1/account) and the expiry of verification state.</summary>
public static partial class ClusterMetrics
{
    /// <summary>Accounts deleted by their primary.</summary>
    public static readonly Counter<long> AccountsDeleted = Meter.CreateCounter<long>("cluster_accounts_deleted_total", description: "Accounts deleted by their primary");

    /// <summary>Deletions finished by the deletion reminder after an interruption.</summary>
    public static readonly Counter<long> AccountDeletionsResumed = Meter.CreateCounter<long>("cluster_account_deletions_resumed_total", description: "Account deletions finished by their reminder after an interruption");

    /// <summary>Envelopes not stored because their device was removed (or its account deleted) while the send was under way.</summary>
    public static readonly Counter<long> EnvelopesForRemovedDevice = Meter.CreateCounter<long>("cluster_envelopes_for_removed_device_total", description: "Envelopes dropped because their device was removed during the send");

    /// <summary>Verification states cleared: a code was verified, or the number's window passed with nothing outstanding.</summary>
    public static readonly Counter<long> VerificationStatesCleared = Meter.CreateCounter<long>("cluster_verification_states_cleared_total", description: "Verification states cleared (verified, or expired)");
}
