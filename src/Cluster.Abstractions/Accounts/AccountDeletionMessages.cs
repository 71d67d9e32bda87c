namespace Cluster.Abstractions.Accounts;

/// <summary>The outcome of deleting an account.</summary>
public enum DeleteAccountStatus
{
    /// <summary>Deleted: nothing of the account is left.</summary>
    Deleted,

    /// <summary>No such account (deleted already).</summary>
    NotFound,

    /// <summary>Only the primary may delete the account.</summary>
    NotPrimary,
}
