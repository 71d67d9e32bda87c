using System.Data.Common;

namespace Cluster.Silo.Protocol;

/// <summary>
/// Answers a request that failed because part of the cluster was briefly unreachable (a silo leaving or dead, a grain
/// call timing out, the database restarting) with 503 <c>unavailable</c> and <c>Retry-After</c>, instead of a bare 500:
/// nothing was promised to the client, and a retry (with the same <c>clientMessageId</c> for a send) is safe and will
/// succeed once the cluster has settled.
/// </summary>
internal static partial class TransientFaults
{
    public static WebApplication UseTransientFaultAnswers(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TransientFaults));
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception ex) when (IsTransient(ex) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                LogTransientFault(logger, context.Request.Method, context.GetEndpoint()?.DisplayName, ex.GetType().Name);
                await ApiErrorHandling.WriteErrorAsync(
                    context.Response,
                    StatusCodes.Status503ServiceUnavailable,
                    "unavailable",
                    "the cluster could not complete the request right now; retry it (a send with the same clientMessageId)",
                    retryAfter: "1");
            }
        });
        return app;
    }

    private static bool IsTransient(Exception ex) => ex is OrleansException or TimeoutException or DbException
        || (ex is AggregateException aggregate && aggregate.InnerExceptions.All(IsTransient));

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Endpoint} failed on a transient cluster fault ({Exception}); answered 503")]
    private static partial void LogTransientFault(ILogger logger, string method, string? endpoint, string exception);
}
