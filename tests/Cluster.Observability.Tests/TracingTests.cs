using System.Collections.Concurrent;
using System.Diagnostics;
using Cluster.Persistence.Inbox;
using Cluster.Testing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Cluster.Observability.Tests;

/// <summary>
/// Tracing with <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set: one send is one trace, from the HTTP endpoint through the
/// grain calls to the inbox commit that stored it, and no span names the accounts or carries the content.
/// </summary>
public sealed class TracingTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Send_TracingOn_OneTraceFromEndpointThroughGrainsToCommit()
    {
        var sink = new SpanSink();
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings
            {
                // Nothing listens there: the in-process sink below is what the test reads.
                Settings = new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9" },
                Services = services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(sink)),
            },
            Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var http = alice.CreateClient(silo);
        var body = Messages.Body([bob], "traced hello");

        await Messages.SendOkAsync(http, bob.AccountId, body, Cancel);

        Activity? server = null;
        Activity? commit = null;
        await Eventually.TrueAsync(
            () =>
            {
                server = sink.Spans.FirstOrDefault(s => s.Kind == ActivityKind.Server && s.DisplayName == "PUT /v1/messages/{accountId}");
                commit = server is null ? null : sink.Spans.FirstOrDefault(s => s.TraceId == server.TraceId && s.Source.Name == InboxTracing.SourceName);
                return Task.FromResult(commit is not null);
            },
            TimeSpan.FromSeconds(30),
            () => $"the send's server span and an inbox commit span in its trace; spans seen: {string.Join(", ", sink.Spans.Select(s => $"{s.Source.Name}/{s.DisplayName}"))}");
        var trace = sink.Spans.Where(s => s.TraceId == server!.TraceId).ToList();

        Assert.Null(server!.Parent);
        Assert.Contains(trace, s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
        Assert.Equal("Append", commit!.GetTagItem("cluster.inbox.operation"));
        var secrets = new[] { alice.AccountId, bob.AccountId, alice.Password, (string)body["messages"]![0]!["content"]!, "traced hello" };
        var leaks = trace.SelectMany(s => s.TagObjects.Select(t => (Span: s.DisplayName, t.Key, Value: t.Value?.ToString() ?? "")).Append((Span: s.DisplayName, Key: "name", Value: s.DisplayName)))
            .Where(t => secrets.Any(secret => t.Value.Contains(secret, StringComparison.Ordinal)))
            .Select(t => $"{t.Span}: {t.Key}")
            .ToList();
        Assert.True(leaks.Count == 0, "span tags naming an account or carrying a secret:\n" + string.Join('\n', leaks));
    }

    private sealed class SpanSink : BaseProcessor<Activity>
    {
        private readonly ConcurrentQueue<Activity> spans = new();

        public IReadOnlyList<Activity> Spans => [.. spans];

        public override void OnEnd(Activity data) => spans.Enqueue(data);
    }
}
