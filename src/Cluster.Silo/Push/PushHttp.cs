using System.Text.Json;

namespace Cluster.Silo.Push;

/// <summary>
/// What the three senders share about one HTTP request to a push service: the per-request timeout, which failures are
/// transient (timeout, connection error, 429, 5xx), and a bounded read of an error body. Holds no state.
/// </summary>
internal static class PushHttp
{
    /// <summary>The most of an error body that is read (the providers' error bodies are a few hundred bytes).</summary>
    private const int MaxErrorBody = 16 * 1024;

    /// <summary>
    /// Sends <paramref name="message"/> within <paramref name="timeout"/> and lets <paramref name="classify"/> judge the
    /// answer (inside the same timeout). A timeout or connection failure is <see cref="PushOutcome.Transient"/>; a
    /// connection refused by <see cref="PushAddressPolicy"/> is <see cref="PushOutcome.Blocked"/>.
    /// </summary>
    public static async Task<PushOutcome> SendAsync(
        HttpClient http,
        HttpRequestMessage message,
        TimeSpan timeout,
        Func<HttpResponseMessage, CancellationToken, Task<PushOutcome>> classify,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            return await classify(response, deadline.Token);
        }
        catch (HttpRequestException ex) when (ex.InnerException is PushAddressRefusedException)
        {
            return PushOutcome.Blocked;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return PushOutcome.Transient;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return PushOutcome.Transient;
        }
    }

    /// <summary>The outcome a status alone decides: 2xx sent, 429 and 5xx transient, anything else failed.</summary>
    public static PushOutcome ByStatus(int status) => status switch
    {
        >= 200 and < 300 => PushOutcome.Sent,
        429 or >= 500 => PushOutcome.Transient,
        _ => PushOutcome.Failed,
    };

    /// <summary>The JSON error body (at most 16 KiB of it), or null when there is none or it is not JSON.</summary>
    public static async Task<JsonDocument?> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxErrorBody];
        var length = 0;
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        try
        {
            return length == 0 ? null : JsonDocument.Parse(buffer.AsMemory(0, length));
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
