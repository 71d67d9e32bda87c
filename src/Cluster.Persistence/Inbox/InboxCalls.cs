namespace Cluster.Persistence.Inbox;

/// <summary>Argument checks and queueing shared by the stores.</summary>
internal static class InboxCalls
{
    public static void ValidateRows(IReadOnlyList<InboxRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (row is null || string.IsNullOrEmpty(row.Device) || row.Envelope is null)
            {
                throw new ArgumentException($"Row {i} is null, or has no device or no envelope.", nameof(rows));
            }

            if (row.Body is { Offset: var offset } && (offset < 0 || offset > row.Envelope.Length))
            {
                throw new ArgumentException($"Row {i}'s body offset is outside its envelope.", nameof(rows));
            }
        }
    }

    public static void ValidateDevice(string device) => ArgumentException.ThrowIfNullOrEmpty(device);

    public static void ValidateReceipt(SendReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        ValidateReceiptKey(receipt.Sender, receipt.Destination, receipt.ClientMessageId);
    }

    public static void ValidateReceiptKey(string sender, string destination, string clientMessageId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sender);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentException.ThrowIfNullOrEmpty(clientMessageId);
    }

    /// <summary>
    /// Queues a request and returns its task. Cancelling stops the caller's wait only: a queued write may still be
    /// committed (it is idempotent: an id is stored once, deleting a missing id is a no-op).
    /// </summary>
    public static Task<int> Enqueue(InboxWriter writer, InboxRequest request, object owner, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<int>(cancellationToken);
        }

        ObjectDisposedException.ThrowIf(!writer.TryEnqueue(request), owner);
        return cancellationToken.CanBeCanceled ? request.Task.WaitAsync(cancellationToken) : request.Task;
    }
}
