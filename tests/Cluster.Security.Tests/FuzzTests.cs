using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Security.Tests;

/// <summary>
/// Malformed requests to every route the silo maps (the matrix's valid requests, broken by <see cref="Fuzzer"/>) and
/// malformed socket sessions (<see cref="FrameFuzzer"/>), from a fixed seed: no answer may be a 5xx, no Error-level log
/// entry may appear, the data stored before the run must be intact and the silo must serve a good request afterwards.
/// Environment: <c>CLUSTER_FUZZ_SEED</c> (default 15), <c>CLUSTER_FUZZ_REQUESTS</c> (10,000),
/// <c>CLUSTER_FUZZ_SOCKETS</c> (300 socket sessions).
/// </summary>
public sealed class FuzzTests
{
    private const int DefaultSeed = 15;
    private const int Concurrency = 4;
    private const int SocketConcurrency = 2;
    private const int SlowBodies = 6;
    private static readonly TimeSpan RawTimeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MalformedRequestsAndFrames_EveryRoute_No5xxNoErrorLogNothingLost()
    {
        var seed = Setting("CLUSTER_FUZZ_SEED", DefaultSeed);
        var requests = Setting("CLUSTER_FUZZ_REQUESTS", 10_000);
        var sessions = Setting("CLUSTER_FUZZ_SOCKETS", 300);
        var run = $"fuzz seed {seed} (CLUSTER_FUZZ_SEED), {requests} requests, {sessions} socket sessions";
        TestContext.Current.TestOutputHelper?.WriteLine(run);
        TestContext.Current.SendDiagnosticMessage(run);

        var logs = new LogCapture();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = logs.AddTo }, Cancel);
        var bystander = await World.CreateAsync(silo);
        var queuedId = await bystander.QueueAsync(bystander.Stranger, bystander.Primary, "stored before the fuzz");
        var before = await SnapshotAsync(bystander);

        // The fuzz never names the bystander: its accounts stand for every other user of the silo.
        var seeds = await SeedsAsync(silo);
        var targets = await World.CreateAsync(silo);
        var fuzzer = new Fuzzer(seeds, [targets.AccountId, targets.Stranger.AccountId], silo.BaseAddress);
        var logins = new[] { targets.Primary, targets.Companion, targets.Stranger, targets.Removed }.Select(d => new SocketLogin(d.Login, d.Password)).ToList();

        var statuses = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        void Count(string key) => statuses.AddOrUpdate(key, 1, (_, n) => n + 1);
        void Record(int? status, string description)
        {
            Count(status?.ToString(CultureInfo.InvariantCulture) ?? "none");
            if (status >= 500 && !IsVersionRefusal(status.Value, description))
            {
                failures.Enqueue($"{status}: {description}");
            }
        }

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency * 2, AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler) { BaseAddress = silo.BaseAddress, Timeout = RawTimeout };

        var slow = Task.WhenAll(Enumerable.Range(0, SlowBodies).Select(i => SlowBodyAsync(silo, seeds, i, Record)));
        var sockets = Parallel.ForEachAsync(
            Enumerable.Range(0, sessions),
            new ParallelOptions { MaxDegreeOfParallelism = SocketConcurrency, CancellationToken = Cancel },
            async (i, ct) =>
            {
                var session = await FrameFuzzer.RunAsync(silo.BaseAddress, seed, i, logins, ct);
                Count($"socket {session.UpgradeStatus?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
                if (session.UpgradeStatus >= 500)
                {
                    failures.Enqueue($"{session.UpgradeStatus} on upgrade: session {i}: {session.Description}");
                }
            });
        await Parallel.ForEachAsync(
            Enumerable.Range(0, requests),
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = Cancel },
            async (i, ct) =>
            {
                var request = fuzzer.Next(seed, i);
                Record(await SendAsync(http, silo.BaseAddress, request, ct), $"request {i}: {request.Description}");
            });
        await sockets;
        await slow;

        var errors = logs.Errors;
        var summary = $"{run}; answers: {string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}×{s.Value}"))}; warnings logged: {logs.Entries.Count - errors.Count}";
        TestContext.Current.TestOutputHelper?.WriteLine(summary);

        Assert.True(
            failures.IsEmpty && errors.Count == 0,
            $"{run}: {failures.Count} answers of 5xx, {errors.Count} Error-level log entries.\nThe first answers:\n{string.Join("\n", failures.Take(20))}\nThe first entries:\n{string.Join("\n", errors.Take(20))}\nThe first in full:\n{string.Join("\n", errors.Take(2).Select(e => e.Exception))}");
        Assert.Equal(requests, statuses.Where(s => !s.Key.StartsWith("socket", StringComparison.Ordinal)).Sum(s => s.Value) - SlowBodies);

        // The data stored before the run is intact, and the silo serves good requests.
        Assert.Equal(before, await SnapshotAsync(bystander));
        using (var client = bystander.ClientOf(bystander.Stranger))
        {
            await Messages.SendOkAsync(client, bystander.AccountId, Messages.Body(bystander.CopiesFor(bystander.Stranger), "after the fuzz"), Cancel);
        }

        using (var probe = silo.CreateHttpClient())
        using (var ready = await probe.GetAsync("/health/ready", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        await using var socket = await TestSocket.ConnectAsync(silo, bystander.Primary, Cancel);
        var backlog = await socket.ReadBacklogAsync();
        Assert.Contains(backlog, e => (string?)e["id"] == queuedId);
        Assert.Contains(backlog, e => Messages.ContentOf(e) == Messages.Content("after the fuzz", bystander.Primary));
        Assert.Empty(logs.Errors);
    }

    /// <summary>
    /// 505 is the one 5xx a client can earn: Kestrel answers it, before the silo sees anything, to a request line naming an
    /// HTTP version other than 1.0 or 1.1 (RFC 9110 §15.6.6); docs/protocol.md lists it. Any other 5xx fails the run.
    /// </summary>
    private static bool IsVersionRefusal(int status, string description) =>
        status == StatusCodes505 && description.EndsWith(Fuzzer.UnsupportedVersion, StringComparison.Ordinal);

    private const int StatusCodes505 = 505;

    /// <summary>A valid request per matrix row, each made for its own fresh accounts, with those accounts' credentials.</summary>
    private static async Task<IReadOnlyList<Seed>> SeedsAsync(TestSilo silo)
    {
        var routes = SiloRoutes.Of(silo);
        var seeds = new ConcurrentBag<Seed>();
        await Parallel.ForEachAsync(AuthorizationMatrix.Rows, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = Cancel }, async (row, _) =>
        {
            var route = routes.SingleOrDefault(r => r.Key == row.Route);
            if (route is null)
            {
                return;
            }

            var world = await World.CreateAsync(silo);
            var cell = new Cell(world, Caller.Primary);
            var probe = await row.Arrange(cell);
            try
            {
                string[] credentials = [.. new[] { Caller.Primary, Caller.Primary, Caller.Primary, Caller.Companion, Caller.Stranger }.Select(c => cell.World.CredentialsOf(c)!.ToString())];
                if (probe.Request is { } request)
                {
                    var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(Cancel);
                    seeds.Add(new Seed(route, request.Method.Method, request.RequestUri!.OriginalString, body, request.Content?.Headers.ContentType?.ToString(), credentials));
                }
                else
                {
                    seeds.Add(new Seed(route, route.CallMethod, route.Pattern, null, null, credentials));
                }
            }
            finally
            {
                if (probe.Cleanup is { } cleanup)
                {
                    await cleanup();
                }
            }
        });

        // A route without a row (the matrix test fails for it) is fuzzed too, from its pattern.
        foreach (var route in routes.Where(r => !seeds.Any(s => s.Route.Key == r.Key)))
        {
            seeds.Add(new Seed(route, route.CallMethod, route.Pattern, "{}"u8.ToArray(), "application/json", []));
        }

        return [.. seeds.OrderBy(s => s.Route.Key, StringComparer.Ordinal).ThenBy(s => s.Path, StringComparer.Ordinal)];
    }

    /// <summary>The answer's status; null when the server answered nothing (it closed first, or the client could not send it).</summary>
    private static async Task<int?> SendAsync(HttpClient http, Uri server, FuzzRequest request, CancellationToken cancellationToken)
    {
        if (request.Raw is { } raw)
        {
            return (await RawHttp.SendAsync(server, raw, request.Ending, RawTimeout, cancellationToken))?.Status;
        }

        HttpRequestMessage message;
        try
        {
            message = new HttpRequestMessage(new HttpMethod(request.Method!), new Uri(request.Path!, UriKind.Relative));
        }
        catch (Exception ex) when (ex is UriFormatException or FormatException or ArgumentException)
        {
            return await SendRawAsync(server, request, cancellationToken);
        }

        using (message)
        {
            foreach (var (name, value) in request.Headers)
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }

            if (request.Body is { } body)
            {
                message.Content = new ByteArrayContent(body);
                if (request.ContentType is { } contentType)
                {
                    message.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
                }
            }

            try
            {
                using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                return (int)response.StatusCode;
            }
            catch (HttpRequestException)
            {
                // The server closed the connection without an answer (it refused the request's framing), or the client
                // would not send what it was given: the same request goes out raw.
                return await SendRawAsync(server, request, cancellationToken);
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }
    }

    private static async Task<int?> SendRawAsync(Uri server, FuzzRequest request, CancellationToken cancellationToken)
    {
        var head = new StringBuilder($"{request.Method} {request.Path} HTTP/1.1\r\nHost: {server.Host}:{server.Port}\r\n");
        foreach (var (name, value) in request.Headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (request.Body is { } body)
        {
            if (request.ContentType is { } contentType)
            {
                head.Append("Content-Type: ").Append(contentType).Append("\r\n");
            }

            head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        }

        head.Append("\r\n");
        var answer = await RawHttp.SendAsync(server, [Encoding.UTF8.GetBytes(head.ToString()), request.Body ?? []], RawEnding.Open, RawTimeout, cancellationToken);
        return answer?.Status;
    }

    /// <summary>
    /// A body that stops arriving: its head and a part of it, then nothing with the connection open, until the server
    /// gives up on it (408, Kestrel's minimum data rate) or the client's patience ends.
    /// </summary>
    private static async Task SlowBodyAsync(TestSilo silo, IReadOnlyList<Seed> seeds, int index, Action<int?, string> record)
    {
        var withBody = seeds.Where(s => s.Body is { Length: > 10 } && s.ContentType is not null).ToList();
        var seed = withBody[index % withBody.Count];
        var head = $"{seed.Method} {seed.Path} HTTP/1.1\r\nHost: {silo.BaseAddress.Host}:{silo.BaseAddress.Port}\r\n"
            + (seed.Credentials.Count > 0 ? $"Authorization: {seed.Credentials[0]}\r\n" : "")
            + $"Content-Type: {seed.ContentType}\r\nContent-Length: {seed.Body!.Length}\r\n\r\n";
        var answer = await RawHttp.SendAsync(silo.BaseAddress, [Encoding.ASCII.GetBytes(head), seed.Body[..10]], RawEnding.Open, RawTimeout, Cancel);
        record(answer?.Status, $"slow body {index}: {seed.Method} {seed.Route.Pattern}");
    }

    /// <summary>What must survive the run: the bystander account's devices, as its primary and senders see them, and its primary's queue.</summary>
    private static async Task<string> SnapshotAsync(World world)
    {
        using var http = world.ClientOf(world.Primary);
        // lastSeenAt is left out: it moves at midnight UTC, and it is the one thing a request may change.
        var devices = (await http.GetFromJsonAsync<JsonObject>("/v1/devices", Cancel))!["devices"]!.AsArray()
            .Select(d => $"{d!["deviceId"]}:{d["name"]}:{d["registrationId"]}:{d["linkedAt"]}");
        var identities = await http.GetStringAsync($"/v1/accounts/{Uri.EscapeDataString(world.AccountId)}/devices", Cancel);
        var queue = string.Join(",", (await world.QueuedAsync(world.Primary)).Select(e => $"{e["id"]}:{Messages.ContentOf(e)}"));
        using var companion = world.ClientOf(world.Companion);
        using var auth = await companion.GetAsync("/v1/keys", Cancel);
        return $"{string.Join(",", devices)}\n{identities}\n{queue}\ncompanion: {(int)auth.StatusCode}";
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
