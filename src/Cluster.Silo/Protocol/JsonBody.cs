using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;

namespace Cluster.Silo.Protocol;

/// <summary>
/// Reading a request's JSON body for every endpoint: a size limit, then the source-generated contract; a body that is
/// too large, not JSON or of the wrong shape is a 4xx naming the problem.
/// </summary>
internal static class JsonBody
{
    /// <summary>
    /// Reads a JSON request body: 415 without <c>Content-Type: application/json</c>, 400 naming the member for malformed
    /// JSON or a member of the wrong type, 413 for a body over the endpoint's limit.
    /// </summary>
    public static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (!context.Request.HasJsonContentType())
        {
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "the body must be sent with Content-Type: application/json");
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, typeInfo, context.RequestAborted)
                ?? throw new ApiException(StatusCodes.Status400BadRequest, "invalid_json", "the body must be a JSON object");
        }
        catch (JsonException ex)
        {
            var field = FieldOf(ex.Path);
            throw field is null
                ? new ApiException(StatusCodes.Status400BadRequest, "invalid_json", "the body is not valid JSON")
                : ApiException.InvalidField(field, "has the wrong type or encoding");
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ApiException(StatusCodes.Status413PayloadTooLarge, "payload_too_large", "the request body is too large");
        }
    }

    /// <summary>Caps this request's body (Kestrel answers 413 past it).</summary>
    public static void LimitBody(HttpContext context, long maxBytes)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = maxBytes;
        }
    }

    /// <summary><c>$.signedPreKey.keyId</c> becomes <c>signedPreKey.keyId</c>; the root itself names no field.</summary>
    private static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return null;
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }
}
