using System.Net;

namespace Cluster.Client;

/// <summary>The server refused a request: its status and the error body (<c>{error, message, field}</c>).</summary>
public class ClusterApiException : Exception
{
    /// <summary>Creates the exception for a refusal.</summary>
    public ClusterApiException(HttpStatusCode status, string error, string message, string? field = null, TimeSpan? retryAfter = null)
        : base($"{(int)status} {error}: {message}")
    {
        Status = status;
        Error = error;
        ServerMessage = message;
        Field = field;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status code.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The machine-readable error code, e.g. <c>bad_signature</c>.</summary>
    public string Error { get; }

    /// <summary>The server's human-readable message.</summary>
    public string ServerMessage { get; }

    /// <summary>The dotted path of the request member at fault, when one is.</summary>
    public string? Field { get; }

    /// <summary>For 429: how long to wait before retrying.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Whether retrying the same request later can succeed (5xx, 429); a 4xx other than 429 will not change.</summary>
    public bool IsTransient => (int)Status >= 500 || Status == HttpStatusCode.TooManyRequests;
}

/// <summary>409 on a send or a call: the device set named does not match the destination's current devices.</summary>
public sealed class MismatchedDevicesException(string message, IReadOnlyList<int> missingDevices, IReadOnlyList<int> extraDevices)
    : ClusterApiException(HttpStatusCode.Conflict, "mismatched_devices", message)
{
    /// <summary>Devices the destination has that the request did not name, ascending.</summary>
    public IReadOnlyList<int> MissingDevices { get; } = missingDevices;

    /// <summary>Devices the request named that the destination does not have, ascending.</summary>
    public IReadOnlyList<int> ExtraDevices { get; } = extraDevices;
}

/// <summary>410 on a send or a call: these devices have a different registration id now (they re-registered).</summary>
public sealed class StaleDevicesException(string message, IReadOnlyList<int> staleDevices)
    : ClusterApiException(HttpStatusCode.Gone, "stale_devices", message)
{
    /// <summary>The device ids whose registration id was not current, ascending.</summary>
    public IReadOnlyList<int> StaleDevices { get; } = staleDevices;
}
