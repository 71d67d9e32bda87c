using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Cluster.Client;
using Cluster.Client.Messaging;
using Cluster.Testing;

namespace Cluster.Faults.Tests;

/// <summary>
/// Sends messages between the test accounts, paced, spread over every silo, as clients do: a send that fails with a
/// 5xx, a refused connection or a timeout is retried on the next silo with the same <c>clientMessageId</c> until it
/// gets a 200. Remembers what every 200 promised: which device must receive which content. With
/// <paramref name="viaSdk"/>, every send is one call of the SDK's <c>SendMessageAsync</c> with its default retry policy,
/// through <see cref="RoundRobinSilos"/> (a load balancer without health checks): a send that throws counts as failed.
/// </summary>
public sealed class Traffic(ProcessCluster cluster, IReadOnlyList<IReadOnlyList<TestDevice>> accounts, bool viaSdk = false) : IDisposable
{
    /// <summary>A send that has not had a 200 after this long counts as failed (the cluster did not recover).</summary>
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(90);

    private readonly HttpClient http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(15),
    };

    private readonly HttpClient sdkHttp = new(new RoundRobinSilos(cluster))
    {
        BaseAddress = cluster.Silos[0].BaseAddress,
        // Each attempt has the retry policy's own timeout.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly ConcurrentQueue<TimeSpan> sendDurations = new();
    private readonly ConcurrentDictionary<string, long> sendStarts = new();
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> promised = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> milestones = new();
    private readonly ConcurrentQueue<string> unexpected = new();
    private int started;
    private int ok;
    private int retries;
    private int failed;
    private int statusErrors;
    private int connectionErrors;
    private int otherServerErrors;

    public int Started => Volatile.Read(ref started);

    public int Ok => Volatile.Read(ref ok);

    /// <summary>Attempts after the first one, over all sends.</summary>
    public int Retries => Volatile.Read(ref retries);

    /// <summary>Failed attempts answered with a 5xx (503 <c>unavailable</c>: the cluster was settling).</summary>
    public int StatusErrors => Volatile.Read(ref statusErrors);

    /// <summary>Of <see cref="StatusErrors"/>, those that were not 503 <c>unavailable</c> (a fault the silo did not recognise as transient).</summary>
    public int OtherServerErrors => Volatile.Read(ref otherServerErrors);

    /// <summary>Failed attempts without an answer (refused, reset, timed out).</summary>
    public int ConnectionErrors => Volatile.Read(ref connectionErrors);

    /// <summary>Sends that never got a 200.</summary>
    public int Failed => Volatile.Read(ref failed);

    /// <summary>Answers a test did not expect at all (a 4xx): the send was wrong, or the server broke its contract.</summary>
    public IReadOnlyCollection<string> Unexpected => unexpected;

    /// <summary>For each device login, the contents it must receive (every send that got a 200).</summary>
    public IReadOnlyDictionary<string, List<string>> PromisedByDevice()
    {
        var byDevice = new Dictionary<string, List<string>>();
        foreach (var (_, contents) in promised)
        {
            foreach (var entry in contents)
            {
                var login = entry[(entry.LastIndexOf(' ') + 1)..];
                if (!byDevice.TryGetValue(login, out var list))
                {
                    byDevice[login] = list = [];
                }

                list.Add(entry);
            }
        }

        return byDevice;
    }

    /// <summary>When each send (by its text, e.g. <c>m0042</c>) was first attempted (<see cref="System.Diagnostics.Stopwatch"/> timestamps).</summary>
    public IReadOnlyDictionary<string, long> SendStarts => sendStarts;

    /// <summary>How long each send took until its 200, its retries included.</summary>
    public IReadOnlyCollection<TimeSpan> SendDurations => sendDurations;

    /// <summary>Every content any send carried, 200 or not: nothing else may ever arrive.</summary>
    public ConcurrentDictionary<string, byte> AllContents { get; } = new();

    /// <summary>Completes once <paramref name="count"/> sends have had their 200.</summary>
    public Task OkCount(int count)
    {
        var milestone = milestones.GetOrAdd($"{count}", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (Ok >= count)
        {
            milestone.TrySetResult();
        }

        return milestone.Task;
    }

    /// <summary>
    /// Starts a send every <paramref name="interval"/>, at most <paramref name="concurrency"/> at once, until
    /// <paramref name="until"/> completes and at least <paramref name="minimum"/> sends have started; then waits for the
    /// sends in flight.
    /// </summary>
    public async Task RunAsync(Task until, int minimum, TimeSpan interval, int concurrency)
    {
        using var slots = new SemaphoreSlim(concurrency);
        var inFlight = new List<Task>();
        var random = new Random(12345);
        using var pace = new PeriodicTimer(interval);
        while (!until.IsCompleted || Started < minimum)
        {
            await pace.WaitForNextTickAsync();
            await slots.WaitAsync();
            var from = random.Next(accounts.Count);
            var to = (from + 1 + random.Next(accounts.Count - 1)) % accounts.Count;
            var sender = accounts[from][random.Next(accounts[from].Count)];
            var n = Interlocked.Increment(ref started);
            var silo = n % cluster.Silos.Count;
            inFlight.Add(SendAsync(n, sender, accounts[to], silo).ContinueWith(_ => slots.Release(), TaskScheduler.Default));
        }

        await Task.WhenAll(inFlight);
        await until;
    }

    /// <summary>One send, counted and retried as the paced ones are, starting at silo <paramref name="firstSilo"/> (0-based).</summary>
    public Task SendOneAsync(TestDevice sender, IReadOnlyList<TestDevice> destination, int firstSilo) =>
        SendAsync(Interlocked.Increment(ref started), sender, destination, firstSilo);

    private async Task SendAsync(int n, TestDevice sender, IReadOnlyList<TestDevice> destination, int firstSilo)
    {
        var text = $"m{n:D4}";
        var body = Messages.Body(destination, text, clientMessageId: text);
        var contents = destination.Select(d => Messages.Content(text, d)).ToList();
        sendStarts[text] = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var content in contents)
        {
            AllContents[content] = 0;
        }

        if (viaSdk)
        {
            await SendThroughSdkAsync(text, sender, destination, contents);
            return;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var deadline = DateTime.UtcNow + GiveUpAfter;
        for (var attempt = 0; ; attempt++)
        {
            if (attempt > 0)
            {
                Interlocked.Increment(ref retries);
            }

            var silo = cluster.Silos[(firstSilo + attempt) % cluster.Silos.Count];
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(silo.BaseAddress, $"/v1/messages/{Uri.EscapeDataString(destination[0].AccountId)}"))
            {
                Content = JsonContent.Create(body),
            };
            request.Headers.Authorization = TestDevice.BasicAuth(sender.Login, sender.Password);
            try
            {
                using var response = await http.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Succeeded(text, contents, clock.Elapsed);
                    return;
                }

                if ((int)response.StatusCode < 500)
                {
                    unexpected.Enqueue($"{text} from {sender.Login}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    Interlocked.Increment(ref failed);
                    return;
                }

                // A fault the cluster recognises answers 503 `unavailable`; any other 5xx is a server bug (the scenario fails on it).
                var answer = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.ServiceUnavailable || !answer.Contains("\"unavailable\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref otherServerErrors);
                }

                Interlocked.Increment(ref statusErrors);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref connectionErrors);
            }

            if (DateTime.UtcNow >= deadline)
            {
                Interlocked.Increment(ref failed);
                return;
            }

            // Every silo refused in turn: back off a little before the next round, as a client would.
            if ((attempt + 1) % cluster.Silos.Count == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }
    }

    private void Succeeded(string text, IReadOnlyList<string> contents, TimeSpan took)
    {
        promised[text] = contents;
        sendDurations.Enqueue(took);
        var count = Interlocked.Increment(ref ok);
        if (milestones.TryGetValue($"{count}", out var milestone))
        {
            milestone.TrySetResult();
        }
    }

    /// <summary>One send as an application makes it: one SDK call, retried inside the SDK; an exception is a failed send.</summary>
    private async Task SendThroughSdkAsync(string text, TestDevice sender, IReadOnlyList<TestDevice> destination, IReadOnlyList<string> contents)
    {
        var policy = new SendRetryPolicy { OnRetry = (failure, _) => CountRetry(failure) };
        var client = new ClusterClient(sdkHttp, new DeviceCredentials(sender.AccountId, sender.DeviceId, sender.Password)) { SendRetries = policy };
        var message = new OutgoingMessage
        {
            Messages = [.. destination.Select(d => new DeviceCopy(d.DeviceId, d.RegistrationId, 1, Encoding.UTF8.GetBytes(Messages.Content(text, d))))],
            Timestamp = 1_700_000_000_000,
            ClientMessageId = text,
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await client.SendMessageAsync(destination[0].AccountId, message);
            Succeeded(text, contents, clock.Elapsed);
        }
        catch (Exception ex) when (ex is ClusterApiException or HttpRequestException or TimeoutException or OperationCanceledException)
        {
            unexpected.Enqueue($"{text} from {sender.Login}: the SDK gave up after {clock.Elapsed.TotalSeconds:0.0}s: {ex.GetType().Name} {ex.Message}");
            Interlocked.Increment(ref failed);
        }
    }

    private void CountRetry(Exception failure)
    {
        Interlocked.Increment(ref retries);
        if (failure is ClusterApiException api)
        {
            Interlocked.Increment(ref statusErrors);
            if (api.Status != HttpStatusCode.ServiceUnavailable || api.Error != "unavailable")
            {
                Interlocked.Increment(ref otherServerErrors);
            }
        }
        else
        {
            Interlocked.Increment(ref connectionErrors);
        }
    }

    public void Dispose()
    {
        http.Dispose();
        sdkHttp.Dispose();
    }
}

/// <summary>
/// A load balancer in front of the silos, at its simplest: each request (each attempt) goes to the next silo in turn,
/// dead or alive, as an L4 balancer does until its health check notices.
/// </summary>
public sealed class RoundRobinSilos(ProcessCluster cluster) : DelegatingHandler(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(5) })
{
    private int next;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var silo = cluster.Silos[(int)((uint)Interlocked.Increment(ref next) % cluster.Silos.Count)];
        request.RequestUri = new Uri(silo.BaseAddress, request.RequestUri!.PathAndQuery);
        return base.SendAsync(request, cancellationToken);
    }
}
