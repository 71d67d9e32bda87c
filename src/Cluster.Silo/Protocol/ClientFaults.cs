using System.Globalization;
using Cluster.Grains.Observability;
using Microsoft.AspNetCore.Connections;

namespace Cluster.Silo.Protocol;

/// <summary>
/// Answers what the client got wrong on the wire, wherever it surfaces. Kestrel throws a request's framing faults (a
/// malformed chunked body, a body cut short, one arriving slower than <c>MinRequestBodyDataRate</c>, one over the size
/// limit) out of the first read of the body, inside whichever endpoint reads it; and a client that goes away mid-request
/// makes reads and writes throw. Left to Kestrel, every one of them is an unhandled application exception: logged at
/// Error, and a 500 when it is not a <see cref="BadHttpRequestException"/>. Here they are the client's 4xx (or, for a client that is
/// gone, nothing), counted in <see cref="ClusterMetrics.ClientFaults"/> and logged at Debug. Everything else still
/// reaches Kestrel as the server fault it is.
/// </summary>
internal static partial class ClientFaults
{
    public static WebApplication UseClientFaultAnswers(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ClientFaults));
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception ex) when (StatusOf(ex, context) is { } status)
            {
                var response = context.Response;
                var fault = status == 0 ? "aborted" : status.ToString(CultureInfo.InvariantCulture);
                ClusterMetrics.ClientFaults.Add(1, new KeyValuePair<string, object?>("fault", fault));
                var endpoint = context.GetEndpoint()?.DisplayName;
                LogClientFault(logger, ex, context.Request.Method, endpoint, fault);
                if (status == 0 || response.HasStarted)
                {
                    // No one to answer, or an answer already half sent: end the connection rather than the response as if whole.
                    context.Abort();
                    return;
                }

                var (error, message) = Describe(status);
                try
                {
                    await ApiErrorHandling.WriteErrorAsync(response, status, error, message, cancellationToken: context.RequestAborted);
                }
                catch (Exception writeFault) when (StatusOf(writeFault, context) == 0 || writeFault is IOException or OperationCanceledException)
                {
                    // The client left while its 4xx was being written (it sent half a body and closed): no one to answer.
                    context.Abort();
                }
            }
        });
        return app;
    }

    /// <summary>
    /// The status that answers <paramref name="ex"/> when it is a client fault: Kestrel's own for a malformed or slow
    /// request, 0 for a client that went away; null for anything else (a server fault).
    /// </summary>
    public static int? StatusOf(Exception ex, HttpContext context) => ex switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        IOException { InnerException: BadHttpRequestException bad } => bad.StatusCode,
        // The transport's own word that the client reset or the connection was aborted: it comes out of the body read
        // before Kestrel has signalled RequestAborted (it does that from the thread pool), so it is judged by its type.
        _ when IsConnectionGone(ex) => 0,
        // Kestrel's body parser reports some malformed bodies (a chunk size too large for an int) as a bare IOException.
        IOException when IsFromKestrelBodyParser(ex) => StatusCodes.Status400BadRequest,
        _ when context.RequestAborted.IsCancellationRequested
            && ex is OperationCanceledException or IOException or ConnectionAbortedException or System.Net.WebSockets.WebSocketException => 0,
        _ => null,
    };

    /// <summary>Whether <paramref name="ex"/>, or an exception it wraps, is Kestrel's report of a connection reset by the client or aborted.</summary>
    private static bool IsConnectionGone(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is ConnectionResetException or ConnectionAbortedException)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsFromKestrelBodyParser(Exception ex) =>
        ex.TargetSite?.DeclaringType is { Namespace: "Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http" } type
        && type.Name.EndsWith("MessageBody", StringComparison.Ordinal);

    private static (string Error, string Message) Describe(int status) => status switch
    {
        StatusCodes.Status408RequestTimeout => ("request_timeout", "the request body arrived too slowly"),
        StatusCodes.Status413PayloadTooLarge => ("payload_too_large", "the request body is too large"),
        StatusCodes.Status431RequestHeaderFieldsTooLarge => ("headers_too_large", "the request headers are too large"),
        _ => ("bad_request", "the request is malformed (its body's framing, length or encoding)"),
    };

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Endpoint}: client fault {Fault}")]
    private static partial void LogClientFault(ILogger logger, Exception exception, string method, string? endpoint, string fault);
}
