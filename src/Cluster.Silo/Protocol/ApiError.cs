namespace Cluster.Silo.Protocol;

/// <summary>The body of every error answer: <c>{"error": code, "message": text}</c>, plus the field when one is at fault.</summary>
public sealed record ApiError(string Error, string Message)
{
    /// <summary>The request field at fault (dotted path, e.g. <c>signedPreKey.publicKey</c>), when there is one.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Field { get; init; }
}

/// <summary>
/// A refusal of client input. Thrown from request parsing and validation and turned into the error answer by
/// <see cref="ApiErrorHandling"/>; never used for server faults.
/// </summary>
public sealed class ApiException(int status, string error, string message, string? field = null) : Exception(message)
{
    public int Status { get; } = status;

    public string Error { get; } = error;

    public string? Field { get; } = field;

    public static ApiException InvalidField(string field, string problem) =>
        new(StatusCodes.Status400BadRequest, "invalid_field", $"{field}: {problem}", field);

    public static ApiException MissingField(string field) =>
        new(StatusCodes.Status400BadRequest, "missing_field", $"{field}: required", field);

    public static ApiException BadSignature(string field) =>
        new(StatusCodes.Status422UnprocessableEntity, "bad_signature", $"{field}: the signature does not verify", field);

    public static ApiException NotFound(string what) =>
        new(StatusCodes.Status404NotFound, "not_found", $"{what} not found");

    public static ApiException Forbidden(string message) =>
        new(StatusCodes.Status403Forbidden, "forbidden", message);
}

internal static class ApiErrorHandling
{
    public static IResult ToResult(this ApiException ex) => Answer.Of(ex).ToResult();

    public static IResult Error(int status, string error, string message) =>
        Results.Json(new ApiError(error, message), ProtocolJson.Default.ApiError, statusCode: status);

    /// <summary>Replaces whatever answer was under way (none may have started) with an error answer, from a middleware.</summary>
    public static Task WriteErrorAsync(
        HttpResponse response, int status, string error, string message, string? retryAfter = null, CancellationToken cancellationToken = default)
    {
        response.Clear();
        response.StatusCode = status;
        if (retryAfter is not null)
        {
            response.Headers.RetryAfter = retryAfter;
        }

        return response.WriteAsJsonAsync(new ApiError(error, message), ProtocolJson.Default.ApiError, contentType: null, cancellationToken);
    }

    /// <summary>Turns <see cref="ApiException"/> from any endpoint into its answer.</summary>
    public static RouteGroupBuilder WithApiErrors(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (ApiException ex)
            {
                return ex.ToResult();
            }
        });
        return group;
    }

    /// <summary>Answers requests that match no route, or the wrong method, with the error body too.</summary>
    public static WebApplication UseApiStatusBodies(this WebApplication app)
    {
        app.UseStatusCodePages(async context =>
        {
            var response = context.HttpContext.Response;
            if (response.HasStarted || response.ContentLength is > 0)
            {
                return;
            }

            var (error, message) = response.StatusCode switch
            {
                StatusCodes.Status404NotFound => ("not_found", "no such endpoint"),
                StatusCodes.Status405MethodNotAllowed => ("method_not_allowed", "this endpoint does not take that method"),
                StatusCodes.Status401Unauthorized => ("unauthorized", "missing or wrong credentials"),
                StatusCodes.Status403Forbidden => ("forbidden", "this device may not do that"),
                StatusCodes.Status413PayloadTooLarge => ("payload_too_large", "the request body is too large"),
                _ => ("http_" + response.StatusCode, "the request was refused"),
            };
            await response.WriteAsJsonAsync(new ApiError(error, message), ProtocolJson.Default.ApiError);
        });
        return app;
    }
}
