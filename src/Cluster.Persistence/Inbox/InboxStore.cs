namespace Cluster.Persistence.Inbox;

/// <summary>
/// What both engines share: the argument checks and the early answers of an empty call (no rows, no ids, a limit or a
/// count of 0) are made here once, and every write is queued to the writer of its device (or sender) here; the
/// SQLite and PostgreSQL classes supply only their writers, their SQL and their connections.
/// </summary>
public abstract class InboxStore : IInboxStore, ISendReceiptStore, IGroupBodyStore, IAsyncDisposable
{
    /// <inheritdoc />
    public Task<int> AppendAsync(IReadOnlyList<InboxRow> rows, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateRows(rows);
        return rows.Count == 0 ? Task.FromResult(0) : AppendCoreAsync(rows, cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> DeleteAsync(string device, IReadOnlyList<Guid> ids, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        ArgumentNullException.ThrowIfNull(ids);
        return ids.Count == 0 ? Task.FromResult(0) : Enqueue(device, InboxRequest.Delete(device, ids), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<InboxRow>> ReadAsync(
        string device, long afterSequence, int limit, long now, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return limit == 0 ? [] : await ReadCoreAsync(device, afterSequence, limit, now, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<long> GetMaxSequenceAsync(string device, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        return await ScalarAsync(InboxScalar.MaxSequence, device, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<long> CountAsync(string device, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        return await ScalarAsync(InboxScalar.Count, device, cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> DeleteOldestAsync(string device, int count, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return count == 0 ? Task.FromResult(0) : Enqueue(device, InboxRequest.DeleteOldest(device, count), cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> PurgeAsync(string device, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateDevice(device);
        return Enqueue(device, InboxRequest.Purge(device), cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> DeleteExpiredAsync(long now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return limit == 0 ? Task.FromResult(0) : DeleteExpiredCoreAsync(now, limit, cancellationToken);
    }

    /// <inheritdoc />
    public Task SaveReceiptAsync(SendReceipt receipt, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateReceipt(receipt);
        return Enqueue(receipt.Sender, InboxRequest.SaveReceipt(receipt), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<SendReceipt?> FindReceiptAsync(
        string sender, string destination, string clientMessageId, long now, CancellationToken cancellationToken = default)
    {
        InboxCalls.ValidateReceiptKey(sender, destination, clientMessageId);
        return await FindReceiptCoreAsync(sender, destination, clientMessageId, now, cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> DeleteExpiredReceiptsAsync(long now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return limit == 0 ? Task.FromResult(0) : DeleteExpiredReceiptsCoreAsync(now, limit, cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> DeleteAccountReceiptsAsync(string accountId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        return DeleteAccountReceiptsCoreAsync(accountId, accountId + ".", cancellationToken);
    }

    /// <inheritdoc />
    public Task StoreBodyAsync(GroupBody body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(body.Content);
        return Enqueue(BodyWriterKey(body.Id), InboxRequest.StoreBody(body), cancellationToken);
    }

    /// <inheritdoc />
    public Task SealBodyAsync(Guid id, CancellationToken cancellationToken = default) =>
        Enqueue(BodyWriterKey(id), InboxRequest.SealBody(id), cancellationToken);

    /// <inheritdoc />
    public Task<int> DeleteExpiredBodiesAsync(long now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return limit == 0 ? Task.FromResult(0) : DeleteExpiredBodiesCoreAsync(now, limit, cancellationToken);
    }

    /// <summary>Commits what is queued, then stops the writers and closes every connection.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>The writer that commits the writes of a device (or, for receipts, of a sender): always the same one, so they commit in order.</summary>
    private protected abstract InboxWriter WriterOf(string device);

    /// <summary>Queues a write to the writer of <paramref name="device"/> (see <see cref="InboxCalls.Enqueue"/>).</summary>
    private protected Task<int> Enqueue(string device, InboxRequest request, CancellationToken cancellationToken) =>
        InboxCalls.Enqueue(WriterOf(device), request, this, cancellationToken);

    /// <summary>A body's writes always go to the same writer (any writer would do: a body's rule holds across writers).</summary>
    private static string BodyWriterKey(Guid id) => id.ToString("N");

    /// <summary>Queues checked, non-empty rows; an engine whose rows may belong to several writers splits them.</summary>
    private protected virtual Task<int> AppendCoreAsync(IReadOnlyList<InboxRow> rows, CancellationToken cancellationToken) =>
        Enqueue(rows[0].Device, InboxRequest.Append(rows), cancellationToken);

    /// <summary>Reads rows (arguments checked, limit above 0); see <see cref="ReadAsync"/>.</summary>
    private protected abstract Task<IReadOnlyList<InboxRow>> ReadCoreAsync(
        string device, long afterSequence, int limit, long now, CancellationToken cancellationToken);

    /// <summary>One number about a device's queue (device checked).</summary>
    private protected abstract Task<long> ScalarAsync(InboxScalar scalar, string device, CancellationToken cancellationToken);

    /// <summary>Deletes expired envelopes (limit above 0); see <see cref="DeleteExpiredAsync"/>.</summary>
    private protected abstract Task<int> DeleteExpiredCoreAsync(long now, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes expired or unreferenced sealed bodies (limit above 0); see <see cref="DeleteExpiredBodiesAsync"/>.</summary>
    private protected abstract Task<int> DeleteExpiredBodiesCoreAsync(long now, int limit, CancellationToken cancellationToken);

    /// <summary>Finds a receipt (key checked); see <see cref="FindReceiptAsync"/>.</summary>
    private protected abstract Task<SendReceipt?> FindReceiptCoreAsync(
        string sender, string destination, string clientMessageId, long now, CancellationToken cancellationToken);

    /// <summary>Deletes expired receipts (limit above 0); see <see cref="DeleteExpiredReceiptsAsync"/>.</summary>
    private protected abstract Task<int> DeleteExpiredReceiptsCoreAsync(long now, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the receipts whose destination is <paramref name="accountId"/> or whose sender starts with
    /// <paramref name="senderPrefix"/> (<c>accountId.</c>); see <see cref="DeleteAccountReceiptsAsync"/>.
    /// </summary>
    private protected abstract Task<int> DeleteAccountReceiptsCoreAsync(string accountId, string senderPrefix, CancellationToken cancellationToken);

    /// <summary>The numbers <see cref="ScalarAsync"/> reads.</summary>
    private protected enum InboxScalar
    {
        /// <summary><see cref="GetMaxSequenceAsync"/>.</summary>
        MaxSequence,

        /// <summary><see cref="CountAsync"/>.</summary>
        Count,
    }
}
