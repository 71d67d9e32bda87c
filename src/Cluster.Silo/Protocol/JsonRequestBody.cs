using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cluster.Silo.Protocol;

/// <summary>
/// A request's JSON body as the endpoint logic shared by HTTP and the device socket reads it, at the point where the
/// HTTP route reads it (after its path and its limits are checked): from the HTTP request (<see cref="Http"/>) or from
/// a socket request frame's <c>body</c> (<see cref="Frame"/>). Either way the same refusals: 413
/// <c>payload_too_large</c> past the endpoint's limit, 400 <c>invalid_json</c> or naming the member of the wrong type.
/// </summary>
internal abstract class JsonRequestBody
{
    /// <summary>Reads the body, of at most <paramref name="maxBytes"/> bytes.</summary>
    public abstract ValueTask<T> ReadAsync<T>(JsonTypeInfo<T> typeInfo, long maxBytes)
        where T : class;

    /// <summary>The body of an HTTP request (<see cref="JsonBody.LimitBody"/>, then <see cref="JsonBody.ReadAsync"/>).</summary>
    public static JsonRequestBody Http(HttpContext context) => new HttpBody(context);

    /// <summary>
    /// The <c>body</c> of a socket request frame of <paramref name="frameBytes"/> bytes; <paramref name="overheadBytes"/>
    /// is the room a frame may take around it.
    /// </summary>
    public static JsonRequestBody Frame(JsonElement? body, int frameBytes, int overheadBytes) => new FrameBody(body, frameBytes, overheadBytes);

    /// <summary>The 413 of a body over its endpoint's limit, as Kestrel's refusal is answered.</summary>
    public static ApiException TooLarge() => new(StatusCodes.Status413PayloadTooLarge, "payload_too_large", "the request body is too large");

    private sealed class HttpBody(HttpContext context) : JsonRequestBody
    {
        public override async ValueTask<T> ReadAsync<T>(JsonTypeInfo<T> typeInfo, long maxBytes)
        {
            JsonBody.LimitBody(context, maxBytes);
            return await JsonBody.ReadAsync(context, typeInfo);
        }
    }

    private sealed class FrameBody(JsonElement? body, int frameBytes, int overheadBytes) : JsonRequestBody
    {
        public override ValueTask<T> ReadAsync<T>(JsonTypeInfo<T> typeInfo, long maxBytes) => frameBytes - overheadBytes > maxBytes
            ? throw TooLarge()
            : ValueTask.FromResult(JsonBody.Read(body, typeInfo));
    }
}
