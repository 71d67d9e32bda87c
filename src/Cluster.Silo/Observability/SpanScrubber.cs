using System.Collections.Frozen;
using System.Diagnostics;
using OpenTelemetry;

namespace Cluster.Silo.Observability;

/// <summary>
/// What leaves the silo in a span: only the tags named here, chosen because none can hold content, a key, a code, a
/// password or an account's or device's id. Removed, among others: the request path and query (account ids, the
/// delete-account <c>confirm</c> code), grain ids (account and device ids), exception messages and stack traces, SQL
/// text, the Npgsql data source. Status descriptions are cleared (a driver's message), the status code stays.
/// PostgreSQL commands with no traced caller (membership heartbeats, the inbox writer's own loop) are not recorded.
/// </summary>
internal sealed class SpanScrubber : BaseProcessor<Activity>
{
    private const string NpgsqlSource = "Npgsql";

    private static readonly FrozenSet<string> Kept = FrozenSet.ToFrozenSet(
    [
        // ASP.NET Core: the route template, never the path.
        "http.request.method", "http.request.method_original", "http.response.status_code", "http.route",
        "url.scheme", "network.protocol.version", "server.address", "server.port", "error.type",
        // Orleans: which interface and method, never which grain.
        "rpc.system", "rpc.system.name", "rpc.service", "rpc.method", "orleans.rpc.service", "orleans.grain.type",
        "orleans.silo.id", "orleans.storage.provider", "orleans.storage.state.name", "orleans.storage.state.type",
        "exception.type", "exception.escaped",
        // Npgsql: which database and operation, never the statement.
        "db.system", "db.system.name", "db.namespace", "db.operation.name", "db.collection.name",
        "db.response.status_code", "db.npgsql.rows", "db.npgsql.prepared", "otel.status_code",
        // InboxTracing.
        "cluster.inbox.operation", "cluster.inbox.batch_rows", "cluster.inbox.batch_requests",
    ], StringComparer.Ordinal);

    public override void OnStart(Activity data)
    {
        if (data.ParentSpanId == default && data.Source.Name == NpgsqlSource)
        {
            data.IsAllDataRequested = false;
            data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }
    }

    public override void OnEnd(Activity data)
    {
        List<string>? removed = null;
        foreach (var tag in data.TagObjects)
        {
            if (!Kept.Contains(tag.Key))
            {
                (removed ??= []).Add(tag.Key);
            }
        }

        foreach (var key in removed ?? [])
        {
            data.SetTag(key, null);
        }

        if (data.StatusDescription is not null)
        {
            data.SetStatus(data.Status);
        }
    }
}
