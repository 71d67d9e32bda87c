using System.Diagnostics;
using System.Threading.Channels;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// One group-commit writer: callers enqueue requests; one loop takes everything pending (up to
/// <see cref="InboxStoreOptions.MaxBatchRows"/> rows), writes it in one transaction, commits, then completes every
/// caller's task, or faults every caller of the batch with the exception. Subclasses supply the SQL.
/// </summary>
/// <remarks>
/// Requests of a batch are applied in the order they were enqueued, grouped into segments: a segment's appends go
/// in multi-row inserts, then its deletes in multi-row deletes. A new segment starts when an append would re-insert
/// a key the segment deletes, or at an operation that must see everything before it (DeleteOldest, Purge,
/// DeleteExpired), so the outcome is the same as applying the requests one by one. Inserts and deletes return the
/// rows they really touched, so each caller learns how many rows its own append stored, or its own delete removed.
/// Idempotency receipts ride along in the same transaction; they touch no inbox row.
/// </remarks>
internal abstract class InboxWriter : IAsyncDisposable
{
    private readonly Channel<InboxRequest> queue = Channel.CreateUnbounded<InboxRequest>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });
    private readonly List<InboxRequest> batch = [];
    private readonly List<InboxRow> inserts = [];
    private readonly List<InboxKey> deletes = [];
    private readonly HashSet<InboxKey> deletedKeys = [];
    private readonly List<InboxRequest> deleteRequests = [];
    private readonly List<InboxRequest> appendRequests = [];
    private readonly List<SendReceipt> receipts = [];
    private readonly HashSet<ReceiptKey> receiptKeys = [];
    private readonly List<InboxRequest> single = [];
    private readonly int maxBatchRows;
    private readonly InboxMetrics metrics;
    private Task loop = Task.CompletedTask;

    protected InboxWriter(int maxBatchRows, InboxMetrics metrics)
    {
        this.maxBatchRows = maxBatchRows;
        this.metrics = metrics;
    }

    /// <summary>Queues a request; false once the writer is shutting down.</summary>
    public bool TryEnqueue(InboxRequest request) => queue.Writer.TryWrite(request);

    /// <summary>Stops taking requests, commits what is queued, and releases the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await loop;
        await DisposeConnectionAsync();
    }

    /// <summary>Runs the loop on the thread pool, for drivers with real asynchronous I/O.</summary>
    protected void StartOnThreadPool() => loop = Task.Run(RunAsync);

    /// <summary>
    /// Runs the loop on a thread of its own, for drivers whose "async" methods block (Microsoft.Data.Sqlite): a
    /// commit waits for the disk, and that wait must not hold a thread-pool thread.
    /// </summary>
    protected void StartOnDedicatedThread(string name)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                RunSynchronously();
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        loop = done.Task;
    }

    /// <summary>Opens a transaction (and the connection, when it is not open).</summary>
    protected abstract ValueTask BeginAsync();

    /// <summary>
    /// Inserts rows, the rows of <paramref name="requests"/> in order, skipping those whose (device, id) exists. By the
    /// end of <see cref="CommitAsync"/> each request's <see cref="InboxRequest.Result"/> must say how many rows it
    /// inserted (see <see cref="CountAffected"/>).
    /// </summary>
    protected abstract ValueTask InsertAsync(List<InboxRow> rows, IReadOnlyList<InboxRequest> requests);

    /// <summary>
    /// Deletes rows by (device, id), the keys of <paramref name="requests"/> in order; unknown keys are ignored. By the
    /// end of <see cref="CommitAsync"/> each request's <see cref="InboxRequest.Result"/> must say how many rows it
    /// deleted (see <see cref="CountAffected"/>).
    /// </summary>
    protected abstract ValueTask DeleteAsync(List<InboxKey> keys, IReadOnlyList<InboxRequest> requests);

    /// <summary>
    /// Inserts receipts (no two with the same key), replacing a stored one of the same key when the new one expires
    /// later (<see cref="ISendReceiptStore.SaveReceiptAsync"/>).
    /// </summary>
    protected abstract ValueTask InsertReceiptsAsync(List<SendReceipt> receipts);

    /// <summary>Runs a DeleteOldest, Purge, DeleteExpired or DeleteExpiredReceipts request; its <see cref="InboxRequest.Result"/> must be set by the end of <see cref="CommitAsync"/>.</summary>
    protected abstract ValueTask BarrierAsync(InboxRequest request);

    /// <summary>Runs whatever is still buffered and commits the transaction.</summary>
    protected abstract ValueTask CommitAsync();

    /// <summary>Rolls back after a failure and drops the connection, so the next batch starts on a fresh one. Never throws.</summary>
    protected abstract ValueTask AbortAsync();

    /// <summary>Whether the failure was one row breaking a constraint (a batch retried request by request isolates it).</summary>
    protected abstract bool IsConstraintViolation(Exception exception);

    protected abstract ValueTask DisposeConnectionAsync();

    /// <summary>
    /// Adds to each append or delete request's result how many of its keys are in <paramref name="affected"/> (the keys
    /// one statement group really inserted or deleted), taking each key out as it is counted: a key named twice, or by
    /// two callers, counts once, for the first to name it, as if the requests had run one by one.
    /// </summary>
    protected static void CountAffected(IReadOnlyList<InboxRequest> requests, HashSet<InboxKey> affected)
    {
        foreach (var request in requests)
        {
            var count = 0;
            if (affected.Count > 0 && request.Rows is { } rows)
            {
                foreach (var row in rows)
                {
                    if (affected.Remove(new InboxKey(row.Device, row.Id)))
                    {
                        count++;
                    }
                }
            }
            else if (affected.Count > 0)
            {
                foreach (var id in request.Ids!)
                {
                    if (affected.Remove(new InboxKey(request.Device!, id)))
                    {
                        count++;
                    }
                }
            }

            request.Result += count;
        }
    }

    private async Task RunAsync()
    {
        // The loop serves every caller: it must not go on in the trace of the one whose call happened to start it.
        Activity.Current = null;
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            var weight = Collect(reader);
            await ProcessAsync(weight);
        }
    }

    private void RunSynchronously()
    {
        Activity.Current = null;
        var reader = queue.Reader;
        while (true)
        {
            var ready = reader.WaitToReadAsync();
            // A thread of its own waits here by design (see StartOnDedicatedThread).
            if (!(ready.IsCompletedSuccessfully ? ready.Result : ready.AsTask().GetAwaiter().GetResult()))
            {
                return;
            }

            var weight = Collect(reader);
            var processed = ProcessAsync(weight);
            processed.GetAwaiter().GetResult();
        }
    }

    private int Collect(ChannelReader<InboxRequest> reader)
    {
        var weight = 0;
        while (weight < maxBatchRows && reader.TryRead(out var request))
        {
            batch.Add(request);
            weight += request.Weight;
        }

        return weight;
    }

    private async Task ProcessAsync(int weight)
    {
        try
        {
            var started = Stopwatch.GetTimestamp();
            var startedAt = InboxTracing.Enabled ? DateTimeOffset.UtcNow : default;
            Exception? failure = null;
            try
            {
                await ExecuteAsync(batch);
                metrics.Committed(weight, started);
            }
            catch (Exception ex)
            {
                metrics.Failed();
                failure = ex;
            }

            if (InboxTracing.Enabled)
            {
                InboxTracing.Transaction(batch, metrics.Store, weight, startedAt, failure);
            }

            if (failure is null)
            {
                Release([.. batch], null);
            }
            else if (batch.Count > 1 && IsConstraintViolation(failure))
            {
                await RetryOneByOneAsync();
            }
            else
            {
                Release([.. batch], failure);
            }
        }
        finally
        {
            batch.Clear();
        }
    }

    /// <summary>
    /// Completes (or faults) requests on one thread-pool work item, never on the writer: callers' continuations run
    /// there, one after another, and the writer goes on with the next batch.
    /// </summary>
    private static void Release(InboxRequest[] requests, Exception? failure) =>
        ThreadPool.UnsafeQueueUserWorkItem(
            static state =>
            {
                var (requests, failure) = state;
                foreach (var request in requests)
                {
                    if (failure is null)
                    {
                        request.TrySetResult(request.Result);
                    }
                    else
                    {
                        request.TrySetException(failure);
                    }
                }
            },
            (requests, failure),
            preferLocal: false);

    /// <summary>One caller's bad row (a sequence stored twice) must not fail the other callers of its batch.</summary>
    private async Task RetryOneByOneAsync()
    {
        foreach (var request in batch)
        {
            single.Add(request);
            var started = Stopwatch.GetTimestamp();
            try
            {
                await ExecuteAsync(single);
                metrics.Committed(request.Weight, started);
                Release([request], null);
            }
            catch (Exception ex)
            {
                metrics.Failed();
                Release([request], ex);
            }
            finally
            {
                single.Clear();
            }
        }
    }

    private async Task ExecuteAsync(List<InboxRequest> batch)
    {
        try
        {
            foreach (var request in batch)
            {
                if (request.Operation is InboxOperation.Append or InboxOperation.Delete)
                {
                    // Counted up per segment (an append can span two); a batch retried one by one counts afresh.
                    request.Result = 0;
                }
            }

            await BeginAsync();
            foreach (var request in batch)
            {
                switch (request.Operation)
                {
                    case InboxOperation.Append:
                        var rows = request.Rows!;
                        appendRequests.Add(request);
                        for (var i = 0; i < rows.Count; i++)
                        {
                            var row = rows[i];
                            if (deletedKeys.Count > 0 && deletedKeys.Contains(new InboxKey(row.Device, row.Id)))
                            {
                                // The rest of this request's rows go in the next segment, and are counted there.
                                await FlushAsync();
                                appendRequests.Add(request);
                            }

                            inserts.Add(row);
                        }

                        break;
                    case InboxOperation.Delete:
                        var ids = request.Ids!;
                        for (var i = 0; i < ids.Count; i++)
                        {
                            var key = new InboxKey(request.Device!, ids[i]);
                            deletes.Add(key);
                            deletedKeys.Add(key);
                        }

                        deleteRequests.Add(request);
                        break;
                    case InboxOperation.SaveReceipt:
                        // Receipts touch no inbox row: they go in with the segment, the first of a key kept.
                        var receipt = request.Receipt!;
                        if (receiptKeys.Add(new ReceiptKey(receipt.Sender, receipt.Destination, receipt.ClientMessageId)))
                        {
                            receipts.Add(receipt);
                        }

                        break;
                    default:
                        await FlushAsync();
                        await BarrierAsync(request);
                        break;
                }
            }

            await FlushAsync();
            await CommitAsync();
        }
        catch
        {
            await AbortAsync();
            throw;
        }
        finally
        {
            inserts.Clear();
            appendRequests.Clear();
            deletes.Clear();
            deletedKeys.Clear();
            deleteRequests.Clear();
            receipts.Clear();
            receiptKeys.Clear();
        }
    }

    private async ValueTask FlushAsync()
    {
        if (inserts.Count > 0)
        {
            await InsertAsync(inserts, [.. appendRequests]);
            inserts.Clear();
        }

        appendRequests.Clear();

        if (deletes.Count > 0)
        {
            await DeleteAsync(deletes, [.. deleteRequests]);
            deletes.Clear();
            deletedKeys.Clear();
            deleteRequests.Clear();
        }

        if (receipts.Count > 0)
        {
            await InsertReceiptsAsync(receipts);
            receipts.Clear();
            receiptKeys.Clear();
        }
    }
}
