using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Cluster.Client.Messaging;

namespace Cluster.Client.Tests;

/// <summary>
/// The SDK's send retries against a scripted server (no silo): what a failover looks like from a client, answer by
/// answer, and the answers that must not be retried.
/// </summary>
public sealed class SendRetryPolicyTests
{
    private static readonly DeviceCredentials Sender = new("+15550000001", 1, "password-password");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static OutgoingMessage Message(string? clientMessageId = null) => new()
    {
        Messages = [new DeviceCopy(1, 42, 1, [1, 2, 3])],
        Timestamp = 1,
        ClientMessageId = clientMessageId,
    };

    [Fact]
    public async Task SendMessageAsync_UnavailableThenRefusedThenOk_RetriesWithOneClientMessageIdAfterRetryAfter()
    {
        var server = new ScriptedServer(
            _ => Answer(HttpStatusCode.ServiceUnavailable, """{"error":"unavailable","message":"retry"}""", retryAfter: 1),
            _ => throw new HttpRequestException("connection refused"),
            _ => Answer(HttpStatusCode.OK, """{"needsSync":false}"""));
        using var client = new ClusterClient(new Uri("http://cluster.test"), Sender, server)
        {
            SendRetries = new SendRetryPolicy { InitialBackoff = TimeSpan.FromMilliseconds(1) },
        };

        var result = await client.SendMessageAsync("+15550000002", Message(), Cancel);

        Assert.False(result.NeedsSync);
        Assert.Equal(3, server.Requests.Count);
        // The message had no id: the SDK gave it one, the same on every attempt, so the server stores it once.
        var ids = server.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("clientMessageId").GetString()).Distinct().ToList();
        var id = Assert.Single(ids);
        Assert.False(string.IsNullOrEmpty(id));
        Assert.True(server.Requests[1].At - server.Requests[0].At >= TimeSpan.FromSeconds(1), "the retry after a 503 waited for its Retry-After");
    }

    [Fact]
    public async Task SendMessageAsync_MismatchedDevices_ThrowsAtOnceWithoutRetry()
    {
        var server = new ScriptedServer(_ => Answer(HttpStatusCode.Conflict, """{"error":"mismatched_devices","message":"fix","missingDevices":[2],"extraDevices":[]}"""));
        using var client = new ClusterClient(new Uri("http://cluster.test"), Sender, server);

        var refused = await Assert.ThrowsAsync<MismatchedDevicesException>(() => client.SendMessageAsync("+15550000002", Message("m1"), Cancel));

        Assert.Equal([2], refused.MissingDevices);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task SendMessageAsync_UnavailableLongerThanBudget_ThrowsTheLastFailure()
    {
        // Each attempt takes 100 ms of the policy's (fake) clock and the backoff is zero, so the budget of 300 ms allows
        // exactly the attempts starting at 0, 100, 200 and 300 ms: three retries, then the fourth failure is thrown.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var server = new ScriptedServer(_ =>
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            return Answer(HttpStatusCode.ServiceUnavailable, """{"error":"unavailable","message":"retry"}""");
        });
        var retries = 0;
        using var client = new ClusterClient(new Uri("http://cluster.test"), Sender, server)
        {
            SendRetries = new SendRetryPolicy
            {
                Budget = TimeSpan.FromMilliseconds(300),
                InitialBackoff = TimeSpan.Zero,
                MaxBackoff = TimeSpan.Zero,
                TimeProvider = time,
                OnRetry = (_, _) => Interlocked.Increment(ref retries),
            },
        };

        var failure = await Assert.ThrowsAsync<ClusterApiException>(() => client.SendMessageAsync("+15550000002", Message("m1"), Cancel));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failure.Status);
        Assert.Equal(3, retries);
        Assert.Equal(4, server.Requests.Count);
    }

    [Fact]
    public async Task SendMessageAsync_NoRetryPolicy_ThrowsTheFirstFailure()
    {
        var server = new ScriptedServer(_ => Answer(HttpStatusCode.ServiceUnavailable, """{"error":"unavailable","message":"retry"}""", retryAfter: 1));
        using var client = new ClusterClient(new Uri("http://cluster.test"), Sender, server) { SendRetries = SendRetryPolicy.None };

        var failure = await Assert.ThrowsAsync<ClusterApiException>(() => client.SendMessageAsync("+15550000002", Message("m1"), Cancel));

        Assert.Equal(TimeSpan.FromSeconds(1), failure.RetryAfter);
        Assert.Single(server.Requests);
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, string json, int? retryAfter = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (retryAfter is { } seconds)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
        }

        return response;
    }

    /// <summary>Answers the n-th request with the n-th answer (the last one again after that), recording each request.</summary>
    private sealed class ScriptedServer(params Func<HttpRequestMessage, HttpResponseMessage>[] answers) : HttpMessageHandler
    {
        private readonly ConcurrentQueue<(string Body, TimeSpan At)> requests = new();
        private readonly Stopwatch clock = Stopwatch.StartNew();

        public IReadOnlyList<(string Body, TimeSpan At)> Requests => [.. requests];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            requests.Enqueue((body, clock.Elapsed));
            return answers[Math.Min(requests.Count, answers.Length) - 1](request);
        }
    }
}
