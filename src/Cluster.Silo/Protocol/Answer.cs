using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cluster.Silo.Protocol;

/// <summary>
/// An answer as every transport gives it: a status and a JSON body, and for a limit's refusal the seconds of
/// <c>Retry-After</c>. An endpoint that serves both HTTP and the device socket (a send) builds one of these once;
/// HTTP writes it as the response (<see cref="ToResult"/>), the socket as a response frame (<see cref="WriteBody"/>).
/// An answer without a body (a 204) has a null <see cref="Body"/>: HTTP sends no body, the socket <c>"body":null</c>.
/// Holds nothing mutable.
/// </summary>
internal sealed record Answer(int Status, object? Body, JsonTypeInfo? BodyType, int? RetryAfterSeconds = null)
{
    /// <summary>204, no body.</summary>
    public static readonly Answer NoContent = new(StatusCodes.Status204NoContent, null, null);

    public static Answer Json<T>(int status, T body, JsonTypeInfo<T> bodyType)
        where T : notnull => new(status, body, bodyType);

    /// <summary>The error answer of a refusal of client input (the body HTTP gives it).</summary>
    public static Answer Of(ApiException ex) =>
        Json(ex.Status, new ApiError(ex.Error, ex.Message) { Field = ex.Field }, ProtocolJson.Default.ApiError);

    /// <summary>An error answer without a field.</summary>
    public static Answer Error(int status, string error, string message, int? retryAfterSeconds = null) =>
        new(status, new ApiError(error, message), ProtocolJson.Default.ApiError, retryAfterSeconds);

    public IResult ToResult() => new HttpAnswer(this);

    /// <summary>Writes the body as one JSON value.</summary>
    public void WriteBody(Utf8JsonWriter writer)
    {
        if (Body is null || BodyType is null)
        {
            writer.WriteNullValue();
            return;
        }

        JsonSerializer.Serialize(writer, Body, BodyType);
    }

    private sealed class HttpAnswer(Answer answer) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (answer.RetryAfterSeconds is { } seconds)
            {
                httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            return answer.Body is null || answer.BodyType is null
                ? Results.StatusCode(answer.Status).ExecuteAsync(httpContext)
                : Results.Json(answer.Body, answer.BodyType, statusCode: answer.Status).ExecuteAsync(httpContext);
        }
    }
}
