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
            throw Refusal(ex);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw JsonRequestBody.TooLarge();
        }
    }

    /// <summary>
    /// Reads the <c>body</c> of a device socket's request frame with the refusals of <see cref="ReadAsync"/>: 400
    /// <c>invalid_json</c> when it is missing or not an object (the words HTTP gives for the same body), 400 naming the member of the wrong type. (Its size was
    /// bounded by the frame's.)
    /// </summary>
    public static T Read<T>(JsonElement? body, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        // A body of another JSON kind is refused as the contract refuses it over HTTP (the same answer).
        if (body is not { ValueKind: not JsonValueKind.Undefined } element)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "invalid_json", "the body must be a JSON object");
        }

        try
        {
            return element.Deserialize(typeInfo) ?? throw new ApiException(StatusCodes.Status400BadRequest, "invalid_json", "the body must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw Refusal(ex);
        }
    }

    /// <summary>The 400 for JSON that does not fit the contract: naming the member at fault, or the whole body.</summary>
    public static ApiException Refusal(JsonException ex) => FieldOf(ex.Path) is { } field
        ? ApiException.InvalidField(field, "has the wrong type or encoding")
        : new ApiException(StatusCodes.Status400BadRequest, "invalid_json", "the body is not valid JSON");

    /// <summary>Caps this request's body (Kestrel answers 413 past it).</summary>
    public static void LimitBody(HttpContext context, long maxBytes)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = maxBytes;
        }
    }

    /// <summary><c>$.signedPreKey.keyId</c> becomes <c>signedPreKey.keyId</c>; the root itself names no field.</summary>
    public static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return null;
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }
}
