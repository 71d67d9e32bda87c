using System.Buffers;
using Cluster.Grains;
using Cluster.Grains.Observability;
using Cluster.Persistence.Blobs;
using Cluster.Silo.Authentication;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Blobs;

/// <summary>
/// <c>POST /v1/blobs</c> and <c>GET /v1/blobs/{blobId}</c>: opaque blobs (encrypted history bundles) for any device,
/// streamed to and from the database a chunk at a time.
/// </summary>
internal static class BlobEndpoints
{
    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPost("/blobs", UploadAsync).Operation("uploadBlob", "Blobs", "Upload an encrypted attachment (raw bytes)").AcceptsBytes().Returns<BlobCreatedResponse>(201).Error<ApiError>(429).Errors(400, 408, 411, 413, 507).RequireAuthorization();
        v1.MapGet("/blobs/{blobId}", DownloadAsync).Operation("downloadBlob", "Blobs", "Download an attachment (raw bytes, Range supported)").Produces<byte[]>(200, "application/octet-stream").Errors(400, 404, 416).RequireAuthorization();
    }

    private static async Task<IResult> UploadAsync(
        HttpContext context, IBlobStore store, IOptions<BlobOptions> options, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
    {
        var limits = options.Value;
        var declared = context.Request.ContentLength;
        if (declared > limits.MaxBytes)
        {
            throw TooLarge(limits.MaxBytes);
        }

        if (declared > limits.MaxBytesPerAccount)
        {
            // It could never fit, however long the client waits.
            throw TooLarge(limits.MaxBytesPerAccount);
        }

        // Kestrel's own cap (30 MB unless raised) would refuse a legitimate blob; this one is ours.
        JsonBody.LimitBody(context, limits.MaxBytes);
        var now = time.GetUtcNow();
        var write = new BlobWrite(
            RandomIds.New(),
            limits.MaxBytes,
            (now + limits.TimeToLive).ToUnixTimeMilliseconds(),
            (now + limits.UploadTimeout).ToUnixTimeMilliseconds())
        {
            Owner = context.Device().Address.AccountId,
            Quota = new BlobQuota(limits.MaxBytesPerAccount, limits.MaxBlobsPerAccount),
            DeclaredLength = declared,
            Now = now.ToUnixTimeMilliseconds(),
        };
        BlobWriteResult result;
        try
        {
            result = await store.WriteAsync(write, context.Request.Body, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(limits.MaxBytes);
        }
        catch (BadHttpRequestException ex)
        {
            // The body ended before its Content-Length, or was malformed chunking; nothing of it was kept.
            throw new ApiException(ex.StatusCode, "bad_request", "the request body was cut short or malformed");
        }
        catch (Exception ex) when (ClientFaults.StatusOf(ex, context) == 0)
        {
            // The client went away mid-upload; nothing of it was kept, and there is no one to answer.
            return Results.Empty;
        }

        if (result.Status == BlobWriteStatus.Stored)
        {
            context.Response.Headers.Location = $"/v1/blobs/{write.Id}";
        }

        return result.Status switch
        {
            BlobWriteStatus.Stored => Results.Json(
                new BlobCreatedResponse(write.Id, write.ExpiresAt),
                ProtocolJson.Default.BlobCreatedResponse,
                statusCode: StatusCodes.Status201Created),
            BlobWriteStatus.TooLarge => throw TooLarge(limits.MaxBytes),
            BlobWriteStatus.QuotaExceeded => throw QuotaExceeded(context, result, limits, now),
            _ => throw new ApiException(
                StatusCodes.Status408RequestTimeout, "upload_timeout", $"the upload took longer than {limits.UploadTimeout} and was dropped"),
        };
    }

    private static async Task DownloadAsync(
        HttpContext context, string blobId, IBlobStore store, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
    {
        var blob = RandomIds.IsValid(blobId)
            ? await store.FindAsync(blobId, time.GetUtcNow().ToUnixTimeMilliseconds(), context.RequestAborted)
            : null;
        if (blob is null)
        {
            throw new ApiException(StatusCodes.Status404NotFound, "not_found", "no such blob, or it has expired");
        }

        var response = context.Response;
        response.ContentType = "application/octet-stream";
        response.ContentLength = blob.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(BlobStore.ChunkBytes);
        try
        {
            for (var i = 0; i < blob.ChunkCount; i++)
            {
                var length = await store.ReadChunkAsync(blob.Id, i, buffer, context.RequestAborted);
                if (length < 0)
                {
                    // Swept while it was being sent (it expired mid-download): the status is out, so cut the response
                    // short rather than end it as if it were whole.
                    context.Abort();
                    return;
                }

                await response.Body.WriteAsync(buffer.AsMemory(0, length), context.RequestAborted);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// 429 <c>blob_quota_exceeded</c>, with <c>Retry-After</c> until the account's oldest blob expires (when room is
    /// made), or a whole blob lifetime when it holds none (its uploads under way took the room).
    /// </summary>
    private static ApiException QuotaExceeded(HttpContext context, BlobWriteResult result, BlobOptions limits, DateTimeOffset now)
    {
        var limit = result.Limit ?? BlobQuotaLimit.Bytes;
        ClusterMetrics.BlobQuotaExceeded.Add(1, new KeyValuePair<string, object?>("limit", limit == BlobQuotaLimit.Count ? "count" : "bytes"));
        var wait = result.RetryAt > now.ToUnixTimeMilliseconds()
            ? TimeSpan.FromMilliseconds(result.RetryAt - now.ToUnixTimeMilliseconds())
            : limits.UploadTimeout;
        context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ApiException(
            StatusCodes.Status429TooManyRequests,
            "blob_quota_exceeded",
            limit == BlobQuotaLimit.Count
                ? $"this account holds its maximum of {limits.MaxBlobsPerAccount} blobs; room is made as they expire"
                : $"this account's blobs would hold more than {limits.MaxBytesPerAccount} bytes; room is made as they expire");
    }

    private static ApiException TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "payload_too_large", $"a blob is at most {maxBytes} bytes");
}
