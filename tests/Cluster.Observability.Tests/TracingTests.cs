using System.Diagnostics;
using System.Diagnostics.Metrics;
using Cluster.Abstractions.Devices;
using Cluster.Grains.Observability;
using Cluster.Persistence;
using Cluster.Persistence.Inbox;
using Cluster.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Orleans;
using Orleans.Runtime;

namespace Cluster.Observability.Tests;

/// <summary>
/// Tracing with <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set (to a port where nothing listens: an in-process exporter,
/// <see cref="SpanSink"/>, is what the tests read, and it sees only what OTLP would send). Most silos here trust the
/// incoming trace context (<c>Tracing:TrustIncomingTraceContext</c>, as behind a gateway that traces), and each traced
/// request carries a W3C <c>traceparent</c> with a fresh trace id, so the spans of silos of other tests in this process
/// never mix in. The silos that do not trust it (the default) are told apart by their port.
/// </summary>
[Collection(OneSiloAtATime.Name)]
public sealed class TracingTests
{
    private const string Nowhere = "http://127.0.0.1:9";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task Send_TracingOn_OneTraceFromEndpointThroughGrainsToCommit(StorageKind storage)
    {
        var sink = new SpanSink();
        await using var database = storage == StorageKind.PostgreSql ? await TestDatabase.CreateMigratedAsync(storage, Cancel) : null;
        await using var silo = await TestSilo.StartAsync(Traced(sink, database?.ConnectionString), Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var http = alice.CreateClient(silo);
        var (trace, client) = StartTrace(http);
        var body = Messages.Body([bob], "traced hello");

        await Messages.SendOkAsync(http, bob.AccountId, body, Cancel);

        var server = await sink.WaitAsync(s => s.TraceId == trace && s.Kind == ActivityKind.Server && s.ParentSpanId == client, "the send's HTTP server span");
        var commit = await sink.WaitAsync(s => s.TraceId == trace && s.Source.Name == InboxTracing.SourceName, "the inbox commit of the send");
        var spans = sink.Trace(trace);
        var chain = Ancestors(commit, spans);

        Assert.Equal("PUT /v1/messages/{accountId}", server.DisplayName);
        Assert.Equal("Append", commit.GetTagItem("cluster.inbox.operation"));
        Assert.Equal(storage == StorageKind.Sqlite ? "sqlite" : "postgresql", commit.GetTagItem("db.system.name"));
        Assert.Same(server, chain[^1]);
        Assert.Contains(chain, s => s.Source.Name == "Microsoft.Orleans.Application" && s.Kind == ActivityKind.Server);
        Assert.All(spans, s => Assert.True(s == server || spans.Any(p => p.SpanId == s.ParentSpanId), $"{s.DisplayName} has no parent in the trace"));
        AssertNoSecrets(spans, alice.AccountId, alice.Password, bob.AccountId, bob.Login, "traced hello", (string)body["messages"]![0]!["content"]!);
        var resource = silo.Services.GetRequiredService<TracerProvider>().GetResource().Attributes.ToDictionary();
        Assert.Equal("cluster-silo", resource["service.name"]);
        Assert.Equal($"{Environment.MachineName}:{Environment.ProcessId}", resource["service.instance.id"]);
    }

    [Fact]
    public async Task Start_NoOtlpEndpoint_NoTracerAtAll()
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings(), Cancel);

        Assert.Null(silo.Services.GetService<TracerProvider>());
    }

    [Fact]
    public async Task DeleteAccount_TracingOn_NoSpanCarriesTheConfirmQueryOrTheCredentials()
    {
        var sink = new SpanSink();
        await using var silo = await TestSilo.StartAsync(Traced(sink, null), Cancel);
        var carol = await TestAccounts.RegisterAsync(silo);
        using var http = carol.CreateClient(silo);
        var (trace, client) = StartTrace(http);

        using var response = await http.DeleteAsync($"/v1/account?confirm={Uri.EscapeDataString(carol.AccountId)}", Cancel);

        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        var server = await sink.WaitAsync(s => s.TraceId == trace && s.Kind == ActivityKind.Server && s.ParentSpanId == client, "the delete's HTTP server span");
        var spans = sink.Trace(trace);
        Assert.Equal("DELETE /v1/account", server.DisplayName);
        Assert.Contains(spans, s => s.Source.Name == "Microsoft.Orleans.Application");
        var authorization = http.DefaultRequestHeaders.Authorization!.Parameter!;
        AssertNoSecrets(spans, carol.AccountId, Uri.EscapeDataString(carol.AccountId), carol.Password, carol.Login, authorization, "confirm");
    }

    [Fact]
    public async Task Send_RecipientGrainOnOtherSilo_ItsSiloJoinsTheTrace()
    {
        await using var database = await TestDatabase.CreateMigratedAsync(StorageKind.PostgreSql, Cancel);
        var sink = new SpanSink();
        var clusterId = $"tracing-{Guid.NewGuid():N}";
        var settings = Traced(sink, database.ConnectionString) with { ClusterId = clusterId };
        await using var a = await TestSilo.StartAsync(settings, Cancel);
        // The other silo traces too (its incoming grain calls continue the caller's trace) but exports elsewhere: the
        // sink, listening in this process, sees every silo's spans once.
        await using var b = await TestSilo.StartAsync(settings with { Services = null }, Cancel);
        await a.WaitForActiveSilosAsync(2, TimeSpan.FromSeconds(90), Cancel);
        await b.WaitForActiveSilosAsync(2, TimeSpan.FromSeconds(90), Cancel);
        var alice = await TestAccounts.RegisterAsync(a);
        var bob = await TestAccounts.RegisterAsync(a);
        using (var warmUp = alice.CreateClient(a))
        {
            await Messages.SendOkAsync(warmUp, bob.AccountId, Messages.Body([bob], "activates bob's grain"), Cancel);
        }

        var bobGrain = a.Grains.GetGrain<IDeviceGrain>(bob.Login).GetGrainId();
        var statistics = await a.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics(null, null, Cancel);
        var home = Assert.Single(statistics, s => s.GrainId == bobGrain).SiloAddress;
        var away = home.Equals(a.SiloAddress) ? b : a;
        using var http = alice.CreateClient(away);
        var (trace, client) = StartTrace(http);

        await Messages.SendOkAsync(http, bob.AccountId, Messages.Body([bob], "across silos"), Cancel);

        var server = await sink.WaitAsync(s => s.TraceId == trace && s.Kind == ActivityKind.Server && s.ParentSpanId == client, "the send's HTTP server span");
        var commit = await sink.WaitAsync(s => s.TraceId == trace && s.Source.Name == InboxTracing.SourceName, "the inbox commit on bob's silo");
        var spans = sink.Trace(trace);
        var chain = Ancestors(commit, spans);
        Assert.Same(server, chain[^1]);
        // Bob's grain runs on the silo the request did not enter: its span is in this trace only if the call carried it.
        Assert.Contains(chain, s => s.Kind == ActivityKind.Server && s.DisplayName.Contains(nameof(IDeviceGrain), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("01")]
    [InlineData("00")]
    public async Task Send_ClientTraceContextNotTrusted_ServerStartsItsOwnSampledTraceWithoutBaggage(string flags)
    {
        var sink = new SpanSink();
        await using var silo = await TestSilo.StartAsync(Traced(sink, null, trustIncoming: false), Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var http = alice.CreateClient(silo);
        // A hostile client: picks the trace id, says "not sampled" (flags 00) to hide, adds state and baggage.
        var (chosen, _) = StartTrace(http, flags);
        http.DefaultRequestHeaders.Add("tracestate", "hostile=1");
        http.DefaultRequestHeaders.Add("baggage", "injected=by-client");

        await Messages.SendOkAsync(http, bob.AccountId, Messages.Body([bob], "untrusted hello"), Cancel);

        var server = await sink.WaitAsync(
            s => s.Kind == ActivityKind.Server && s.DisplayName == "PUT /v1/messages/{accountId}" && Equals(s.GetTagItem("server.port"), silo.BaseAddress.Port),
            "the send's HTTP server span from this test's silo");
        var commit = await sink.WaitAsync(s => s.TraceId == server.TraceId && s.Source.Name == InboxTracing.SourceName, "the inbox commit of the send, in the silo's trace");
        var spans = sink.Trace(server.TraceId);
        Assert.NotEqual(chosen, server.TraceId);
        Assert.Equal(default, server.ParentSpanId);
        Assert.Null(server.TraceStateString);
        Assert.Same(server, Ancestors(commit, spans)[^1]);
        Assert.Contains(spans, s => s.Source.Name == "Microsoft.Orleans.Application" && s.Kind == ActivityKind.Server);
        Assert.Empty(sink.Trace(chosen));
        Assert.All(spans, s => Assert.Empty(s.Baggage));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CreateContext_SocketUpgradeWithTraceHeaders_HeadersKeptOnlyWhenTrusted(bool trust)
    {
        var settings = new Dictionary<string, string> { ["Tracing:TrustIncomingTraceContext"] = trust ? "true" : "false" };
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Settings = settings }, Cancel);
        var traceContext = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["traceparent"] = $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-00",
            ["tracestate"] = "hostile=1",
            ["baggage"] = "injected=by-client",
            ["Request-Id"] = "|hostile.1.",
            ["Correlation-Context"] = "injected=by-client",
        };
        var request = new HttpRequestFeature { Method = "GET", Path = "/v1/socket" };
        request.Headers.Upgrade = "websocket";
        request.Headers.Connection = "Upgrade";
        foreach (var (name, value) in traceContext)
        {
            request.Headers[name] = value;
        }

        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(request);
        var factory = silo.Services.GetRequiredService<IHttpContextFactory>();
        using var ignored = new CounterWatch("cluster_trace_context_ignored_total");

        var context = factory.Create(features);

        var kept = context.Request.Headers.Where(h => traceContext.ContainsKey(h.Key)).ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(trust ? traceContext : new Dictionary<string, string>(), kept);
        Assert.Equal("websocket", context.Request.Headers.Upgrade);
        if (!trust)
        {
            Assert.True(ignored.Total >= 1, "the ignored trace context should be counted");
        }

        factory.Dispose(context);
    }

    private static TestSiloSettings Traced(SpanSink sink, string? postgres, bool trustIncoming = true) => new()
    {
        PostgresConnectionString = postgres,
        Settings = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Nowhere,
            ["Cluster:DevicePlacement"] = "Default",
            ["Tracing:TrustIncomingTraceContext"] = trustIncoming ? "true" : "false",
        },
        Services = services => services.AddSingleton<BaseExporter<Activity>>(sink),
    };

    /// <summary>Makes every request of <paramref name="http"/> continue a fresh trace, as a client or gateway that traces does.</summary>
    private static (ActivityTraceId Trace, ActivitySpanId Client) StartTrace(HttpClient http, string flags = "01")
    {
        var trace = ActivityTraceId.CreateRandom();
        var client = ActivitySpanId.CreateRandom();
        http.DefaultRequestHeaders.Add("traceparent", $"00-{trace.ToHexString()}-{client.ToHexString()}-{flags}");
        return (trace, client);
    }

    /// <summary><paramref name="span"/>, its parent, and so on up to the span whose parent is not in <paramref name="spans"/>.</summary>
    private static List<Activity> Ancestors(Activity span, IReadOnlyList<Activity> spans)
    {
        var chain = new List<Activity> { span };
        while (spans.FirstOrDefault(s => s.SpanId == chain[^1].ParentSpanId) is { } parent)
        {
            chain.Add(parent);
        }

        return chain;
    }

    private static void AssertNoSecrets(IReadOnlyList<Activity> spans, params string[] secrets)
    {
        var leaks = spans
            .SelectMany(s => s.TagObjects.Select(t => (Span: s.DisplayName, t.Key, Value: Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture) ?? ""))
                .Append((Span: s.DisplayName, Key: "(name)", Value: s.DisplayName))
                .Append((Span: s.DisplayName, Key: "(status)", Value: s.StatusDescription ?? ""))
                .Concat(s.Events.SelectMany(e => e.Tags.Select(t => (Span: s.DisplayName, Key: $"{e.Name}.{t.Key}", Value: Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "")))))
            .Where(t => secrets.Any(secret => t.Value.Contains(secret, StringComparison.Ordinal)))
            .Select(t => $"{t.Span}: {t.Key}")
            .ToList();
        Assert.True(spans.Count > 1, "the trace should have several spans");
        Assert.True(leaks.Count == 0, "span data naming an account or carrying a secret:\n" + string.Join('\n', leaks));
    }

    /// <summary>Sums what the product's counter <paramref name="name"/> counts, in this process, while it lives.</summary>
    private sealed class CounterWatch : IDisposable
    {
        private readonly MeterListener listener = new();
        private long total;

        public CounterWatch(string name)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ClusterMetrics.MeterName && instrument.Name == name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref total, value));
            listener.Start();
        }

        public long Total => Interlocked.Read(ref total);

        public void Dispose() => listener.Dispose();
    }

    /// <summary>An in-process exporter: keeps every span exported to it, and lets a test await one.</summary>
    private sealed class SpanSink : BaseExporter<Activity>
    {
        private readonly Lock gate = new();
        private readonly List<Activity> spans = [];
        private readonly List<(Func<Activity, bool> Match, TaskCompletionSource<Activity> Found)> waiters = [];

        public override ExportResult Export(in Batch<Activity> batch)
        {
            lock (gate)
            {
                foreach (var span in batch)
                {
                    spans.Add(span);
                    foreach (var waiter in waiters.Where(w => w.Match(span)).ToList())
                    {
                        waiters.Remove(waiter);
                        waiter.Found.TrySetResult(span);
                    }
                }
            }

            return ExportResult.Success;
        }

        public IReadOnlyList<Activity> Trace(ActivityTraceId trace)
        {
            lock (gate)
            {
                return [.. spans.Where(s => s.TraceId == trace)];
            }
        }

        public async Task<Activity> WaitAsync(Func<Activity, bool> match, string expected)
        {
            var found = new TaskCompletionSource<Activity>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (gate)
            {
                if (spans.FirstOrDefault(match) is { } span)
                {
                    return span;
                }

                waiters.Add((match, found));
            }

            try
            {
                return await found.Task.WaitAsync(Timeout, Cancel);
            }
            catch (TimeoutException)
            {
                lock (gate)
                {
                    throw new TimeoutException($"expected {expected} within {Timeout.TotalSeconds} s; spans exported: {string.Join(", ", spans.Select(s => $"{s.Source.Name}/{s.DisplayName}"))}");
                }
            }
        }
    }
}
