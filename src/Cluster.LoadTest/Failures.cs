using System.Net;
using Cluster.Client;

namespace Cluster.LoadTest;

/// <summary>How the run names and retries failures.</summary>
internal static class Failures
{
    /// <summary>A short kind for the error counts: <c>send 503</c>, <c>answer 409 call_ended</c>, <c>send timeout</c>, <c>connect connection refused</c>.</summary>
    public static string Kind(string operation, Exception exception) => exception switch
    {
        MismatchedDevicesException => $"{operation} 409 mismatched_devices",
        StaleDevicesException => $"{operation} 410 stale_devices",
        ClusterApiException api when (int)api.Status >= 500 => $"{operation} {(int)api.Status}",
        ClusterApiException api => $"{operation} {(int)api.Status} {api.Error}",
        HttpRequestException http => $"{operation} connection {http.HttpRequestError}",
        Cluster.Client.Messaging.DeviceSocketUnavailableException => $"{operation} socket closed",
        OperationCanceledException or TimeoutException => $"{operation} timeout",
        _ => $"{operation} {exception.GetType().Name}",
    };

    /// <summary>Whether the same request may succeed later: a 5xx, a 429, no answer.</summary>
    public static bool IsTransient(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        ClusterApiException api => api.IsTransient,
        HttpRequestException or Cluster.Client.Messaging.DeviceSocketUnavailableException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    /// <summary>Whether a call failed the way a request can fail at all (and not through a bug in this tool).</summary>
    public static bool IsRequestFailure(Exception exception, CancellationToken cancellationToken) =>
        exception is ClusterApiException or HttpRequestException or Cluster.Client.Messaging.DeviceSocketUnavailableException
        || exception is OperationCanceledException && !cancellationToken.IsCancellationRequested;

    /// <summary>Runs <paramref name="action"/> (given the attempt number), again on a transient failure, at most <paramref name="attempts"/> times; counts each failure.</summary>
    public static async Task<T> RetryAsync<T>(
        Func<int, Task<T>> action, string operation, Progress.RunStatus status, CancellationToken cancellationToken, int attempts = 4)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await action(attempt);
            }
            catch (Exception ex) when (attempt + 1 < attempts && IsTransient(ex, cancellationToken))
            {
                status.Error(Kind(operation, ex));
                await Task.Delay(Backoff(attempt, (ex as ClusterApiException)?.RetryAfter), cancellationToken);
            }
        }
    }

    public static Task RetryAsync(Func<int, Task> action, string operation, Progress.RunStatus status, CancellationToken cancellationToken, int attempts = 4) =>
        RetryAsync<bool>(async attempt => { await action(attempt); return true; }, operation, status, cancellationToken, attempts);

    public static TimeSpan Backoff(int attempt, TimeSpan? retryAfter = null) =>
        retryAfter ?? TimeSpan.FromMilliseconds(Random.Shared.Next(50, 100 << Math.Min(attempt, 6)));

    public static bool Is(Exception exception, HttpStatusCode status, string error) =>
        exception is ClusterApiException api && api.Status == status && api.Error == error;
}
