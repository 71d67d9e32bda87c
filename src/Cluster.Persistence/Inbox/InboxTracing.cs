using System.Diagnostics;

namespace Cluster.Persistence.Inbox;

/// <summary>
/// Spans of inbox transactions, on <see cref="SourceName"/>. The writer commits many callers' requests in one
/// transaction on its own loop, so the span is written afterwards, once per request, as a child of the caller's trace
/// (a send's trace ends at the commit that stored its envelopes). Tags: the engine, the operation, the batch's rows and
/// requests; never a device, an id or content. Costs nothing while no tracer listens.
/// </summary>
public static class InboxTracing
{
    /// <summary>The activity source a tracer subscribes to.</summary>
    public const string SourceName = "Cluster.Persistence";

    private static readonly ActivitySource Source = new(SourceName);

    internal static bool Enabled => Source.HasListeners();

    internal static void Transaction(IReadOnlyList<InboxRequest> batch, string store, int rows, DateTimeOffset startedAt, Exception? failure)
    {
        var endedAt = DateTimeOffset.UtcNow;
        foreach (var request in batch)
        {
            if (request.Caller == default)
            {
                continue;
            }

            using var activity = Source.StartActivity("inbox commit", ActivityKind.Internal, request.Caller, startTime: startedAt);
            if (activity is null)
            {
                continue;
            }

            activity.SetTag("db.system.name", store);
            activity.SetTag("cluster.inbox.operation", request.Operation.ToString());
            activity.SetTag("cluster.inbox.batch_rows", rows);
            activity.SetTag("cluster.inbox.batch_requests", batch.Count);
            if (failure is not null)
            {
                activity.SetStatus(ActivityStatusCode.Error, failure.GetType().Name);
            }

            activity.SetEndTime(endedAt.UtcDateTime);
        }
    }
}
