using System.Diagnostics;

namespace Cluster.Persistence.Inbox;

internal enum InboxOperation
{
    Append,
    Delete,
    DeleteOldest,
    Purge,
    DeleteExpired,
    SaveReceipt,
    DeleteExpiredReceipts,
    StoreBody,
    SealBody,
    DeleteExpiredBodies,
}

/// <summary>One caller's write, waiting in a writer's queue; its task completes once the write is committed.</summary>
/// <remarks>
/// The request is its own completion source (one allocation per call). It lets continuations run synchronously: the
/// writer never completes requests itself but hands each finished batch to one thread-pool work item (see
/// <see cref="InboxWriter"/>), so a batch wakes one thread instead of one per caller.
/// </remarks>
internal sealed class InboxRequest : TaskCompletionSource<int>
{
    private InboxRequest(InboxOperation operation, int weight)
    {
        Operation = operation;
        Weight = weight;
    }

    public InboxOperation Operation { get; }

    /// <summary>The trace of the caller that made the request (none while nothing traces), for its commit's span (<see cref="InboxTracing"/>).</summary>
    public ActivityContext Caller { get; } = InboxTracing.Enabled ? Activity.Current?.Context ?? default : default;

    /// <summary>How many rows this request adds to a batch: envelopes appended, ids deleted, or 1.</summary>
    public int Weight { get; }

    public IReadOnlyList<InboxRow>? Rows { get; private init; }

    public string? Device { get; private init; }

    public IReadOnlyList<Guid>? Ids { get; private init; }

    public SendReceipt? Receipt { get; private init; }

    /// <summary>StoreBody: the body.</summary>
    public GroupBody? Body { get; private init; }

    /// <summary>SealBody: the body's id.</summary>
    public Guid BodyId { get; private init; }

    /// <summary>DeleteOldest: how many; DeleteExpired, DeleteExpiredReceipts and DeleteExpiredBodies: the limit.</summary>
    public int Count { get; private init; }

    /// <summary>DeleteExpired, DeleteExpiredReceipts and DeleteExpiredBodies: Unix ms.</summary>
    public long Now { get; private init; }

    /// <summary>The number of rows a barrier operation deleted, set by the writer before the commit.</summary>
    public int Result { get; set; }

    public static InboxRequest Append(IReadOnlyList<InboxRow> rows) =>
        new(InboxOperation.Append, rows.Count) { Rows = rows };

    public static InboxRequest Delete(string device, IReadOnlyList<Guid> ids) =>
        new(InboxOperation.Delete, ids.Count) { Device = device, Ids = ids };

    public static InboxRequest DeleteOldest(string device, int count) =>
        new(InboxOperation.DeleteOldest, 1) { Device = device, Count = count };

    public static InboxRequest Purge(string device) =>
        new(InboxOperation.Purge, 1) { Device = device };

    public static InboxRequest DeleteExpired(long now, int limit) =>
        new(InboxOperation.DeleteExpired, 1) { Now = now, Count = limit };

    public static InboxRequest SaveReceipt(SendReceipt receipt) =>
        new(InboxOperation.SaveReceipt, 1) { Receipt = receipt };

    public static InboxRequest DeleteExpiredReceipts(long now, int limit) =>
        new(InboxOperation.DeleteExpiredReceipts, 1) { Now = now, Count = limit };

    public static InboxRequest StoreBody(GroupBody body) =>
        new(InboxOperation.StoreBody, 1) { Body = body };

    public static InboxRequest SealBody(Guid id) =>
        new(InboxOperation.SealBody, 1) { BodyId = id };

    public static InboxRequest DeleteExpiredBodies(long now, int limit) =>
        new(InboxOperation.DeleteExpiredBodies, 1) { Now = now, Count = limit };
}

/// <summary>The unique key of a receipt: (sender, destination, client message id).</summary>
internal readonly record struct ReceiptKey(string Sender, string Destination, string ClientMessageId);

/// <summary>The unique key of an envelope: (device, id).</summary>
internal readonly record struct InboxKey(string Device, Guid Id);
