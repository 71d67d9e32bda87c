namespace Cluster.Persistence.Inbox;

/// <summary>What a retried send must be answered: the first successful call's outcome, until it expires.</summary>
/// <param name="Sender">The sending device, <c>accountId.deviceId</c>.</param>
/// <param name="Destination">The destination account.</param>
/// <param name="ClientMessageId">The client's idempotency key.</param>
/// <param name="NeedsSync">The first answer's <c>needsSync</c>.</param>
/// <param name="ExpiresAt">Unix ms after which the receipt no longer counts.</param>
public sealed record SendReceipt(string Sender, string Destination, string ClientMessageId, bool NeedsSync, long ExpiresAt);

/// <summary>
/// Durable idempotency receipts (table <c>send_receipts</c>, migration <c>0004_send_receipts</c>), keyed by
/// (sender, destination, client message id). Receipts commit in the inbox's group commits, so a send that carries a key
/// costs no commit of its own. The same cancellation rule as <see cref="IInboxStore"/> holds: a save already queued
/// may still be committed, which is harmless (a receipt is saved only once its send has succeeded).
/// </summary>
public interface ISendReceiptStore
{
    /// <summary>
    /// Stores a receipt; completes once it is durable. A stored receipt of the same key is replaced when the new one
    /// expires later (an expired one is thus renewed; two attempts that both succeeded answer alike anyway).
    /// </summary>
    Task SaveReceiptAsync(SendReceipt receipt, CancellationToken cancellationToken = default);

    /// <summary>The receipt of the key, if there is one that has not expired at <paramref name="now"/> (Unix ms).</summary>
    Task<SendReceipt?> FindReceiptAsync(string sender, string destination, string clientMessageId, long now, CancellationToken cancellationToken = default);

    /// <summary>Deletes up to <paramref name="limit"/> receipts that expired at or before <paramref name="now"/>; returns how many went.</summary>
    Task<int> DeleteExpiredReceiptsAsync(long now, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every receipt of <paramref name="accountId"/> (account deletion): those its devices hold as senders and
    /// those of sends to it; returns how many went. A scan of the table, not an index look-up: deletions are rare.
    /// </summary>
    Task<int> DeleteAccountReceiptsAsync(string accountId, CancellationToken cancellationToken = default);
}
