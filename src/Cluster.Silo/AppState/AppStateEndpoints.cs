using System.Globalization;
using Cluster.Abstractions.AppState;
using Cluster.Grains.Observability;
using Cluster.Persistence.AppState;
using Cluster.Silo.Authentication;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.AppState;

/// <summary>
/// <c>/v1/appstate</c>: the authenticated device's own account's collections (no route names another account, so no
/// device can reach one). Uploads are conditional on the latest version; a stored one is announced to the account's
/// other devices.
/// </summary>
internal static class AppStateEndpoints
{
    // Room for the JSON around the base64 of the largest patch or snapshot.
    private const int JsonOverheadBytes = 1024;

    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapGet("/appstate", ListAsync).Operation("listAppStateCollections", "AppState", "The account's app state collections and their versions").Returns<AppStateListResponse>().Errors().RequireAuthorization();
        v1.MapGet("/appstate/{collection}", FetchAsync).Operation("fetchAppStateCollection", "AppState", "A collection's snapshot and patches after a version").QueryInteger("since", "The version the device has (default 0: everything)").QueryInteger("limit", "Patches per page, at most AppState:PageSize (the default)").Returns<AppStateFetchResponse>().Errors(400, 404).RequireAuthorization();
        v1.MapPost("/appstate/{collection}/patches", UploadPatchAsync).Operation("uploadAppStatePatch", "AppState", "Append a patch at the next version").Accepts<AppStatePatchRequest>().Returns<AppStateCollectionResponse>().Error<AppStateConflictError>(409).Errors(400, 413).RequireAuthorization();
        v1.MapPut("/appstate/{collection}/snapshot", UploadSnapshotAsync).Operation("uploadAppStateSnapshot", "AppState", "Replace the collection's snapshot").Accepts<AppStateSnapshotRequest>().Returns<AppStateCollectionResponse>().Error<AppStateConflictError>(409).Errors(400, 413).RequireAuthorization();
    }

    private static async Task<IResult> ListAsync(HttpContext context, IAppStateStore store)
    {
        var heads = await store.ListAsync(context.Device().Address.AccountId, context.RequestAborted);
        return Results.Json(new AppStateListResponse([.. heads.Select(Response)]), ProtocolJson.Default.AppStateListResponse);
    }

    private static async Task<IResult> FetchAsync(HttpContext context, string collection, IAppStateStore store, IOptions<AppStateOptions> options)
    {
        var limits = options.Value;
        CheckCollection(collection, limits);
        var since = QueryNumber(context, "since", 0, long.MaxValue) ?? 0;
        var limit = (int)(QueryNumber(context, "limit", 1, limits.PageSize) ?? limits.PageSize);
        var page = await store.ReadAsync(context.Device().Address.AccountId, collection, since, limit, context.RequestAborted);
        if (since > page.Head.Version)
        {
            // The device holds a version this server never stored: say so rather than answer "nothing new".
            return Conflict("version_ahead", $"since is {since}, but the latest version of {collection} is {page.Head.Version}", page.Head);
        }

        return Results.Json(
            new AppStateFetchResponse(
                collection,
                page.Head.Version,
                page.Head.SnapshotVersion,
                page.Snapshot is { } snapshot ? new AppStateItemResponse(snapshot.Version, snapshot.Data) : null,
                [.. page.Patches.Select(p => new AppStateItemResponse(p.Version, p.Data))],
                page.More),
            ProtocolJson.Default.AppStateFetchResponse);
    }

    private static async Task<IResult> UploadPatchAsync(
        HttpContext context, string collection, IAppStateStore store, IGrainFactory grains, IOptions<AppStateOptions> options)
    {
        var limits = options.Value;
        CheckCollection(collection, limits);
        var body = await ReadAsync(context, ProtocolJson.Default.AppStatePatchRequest, limits.MaxPatchBytes, "patch");
        var version = Version(body.Version);
        var patch = Data(body.Patch, "patch", limits.MaxPatchBytes);
        var device = context.Device().Address;
        var result = await store.AppendPatchAsync(device.AccountId, collection, version, patch, limits.MaxBytesPerCollection, limits.MaxPatchesPerCollection, context.RequestAborted);
        switch (result.Status)
        {
            case AppStateWriteStatus.Stored:
                ClusterMetrics.AppStatePatches.Add(1);
                _ = grains.GetGrain<IAccountAppStateGrain>(device.AccountId).NotifyAppStateChangedAsync(collection, version, device.DeviceId);
                return Results.Json(Response(result.Head), ProtocolJson.Default.AppStateCollectionResponse);
            case AppStateWriteStatus.Conflict:
                return Conflict(
                    "version_conflict",
                    $"version {version} does not follow the latest version of {collection}, {result.Head.Version}: fetch, rebase and upload version {result.Head.Version + 1}",
                    result.Head);
            default:
                throw result.Head.Version - result.Head.SnapshotVersion >= limits.MaxPatchesPerCollection
                    ? TooManyPatches(collection, limits)
                    : CollectionFull(collection, limits);
        }
    }

    private static async Task<IResult> UploadSnapshotAsync(
        HttpContext context, string collection, IAppStateStore store, IOptions<AppStateOptions> options)
    {
        var limits = options.Value;
        CheckCollection(collection, limits);
        var body = await ReadAsync(context, ProtocolJson.Default.AppStateSnapshotRequest, limits.MaxSnapshotBytes, "snapshot");
        var version = Version(body.Version);
        var snapshot = Data(body.Snapshot, "snapshot", limits.MaxSnapshotBytes);
        var result = await store.PutSnapshotAsync(
            context.Device().Address.AccountId, collection, version, snapshot, limits.MaxBytesPerCollection, context.RequestAborted);
        switch (result.Status)
        {
            case AppStateWriteStatus.Stored:
                // No event: a snapshot changes no version, only what a device far behind downloads.
                ClusterMetrics.AppStateSnapshots.Add(1);
                return Results.Json(Response(result.Head), ProtocolJson.Default.AppStateCollectionResponse);
            case AppStateWriteStatus.StaleSnapshot:
                return Conflict(
                    "snapshot_stale", $"{collection} already has a snapshot at version {result.Head.SnapshotVersion}, at or above {version}", result.Head);
            case AppStateWriteStatus.SnapshotAhead:
                return Conflict(
                    "snapshot_ahead", $"version {version} is above the latest version of {collection}, {result.Head.Version}", result.Head);
            default:
                throw CollectionFull(collection, limits);
        }
    }

    private static AppStateCollectionResponse Response(AppStateHead head) => new(head.Collection, head.Version, head.SnapshotVersion);

    private static void CheckCollection(string collection, AppStateOptions limits)
    {
        if (!limits.Allows(collection))
        {
            throw new ApiException(
                StatusCodes.Status400BadRequest, "unknown_collection", $"the collection must be one of: {limits.Collections.Replace(",", ", ", StringComparison.Ordinal)}");
        }
    }

    private static async Task<T> ReadAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, int maxBytes, string what)
        where T : class
    {
        var maxBody = ((long)maxBytes + 2) / 3 * 4 + JsonOverheadBytes;
        if (context.Request.ContentLength > maxBody)
        {
            throw TooLarge(what, maxBytes);
        }

        JsonBody.LimitBody(context, maxBody);
        try
        {
            return await JsonBody.ReadAsync(context, type);
        }
        catch (ApiException ex) when (ex.Status == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(what, maxBytes);
        }
    }

    private static long Version(long? version) => version switch
    {
        null => throw ApiException.MissingField("version"),
        < 1 => throw ApiException.InvalidField("version", "must be 1 or more"),
        _ => version.Value,
    };

    private static byte[] Data(byte[]? data, string field, int maxBytes)
    {
        if (data is null)
        {
            throw ApiException.MissingField(field);
        }

        if (data.Length == 0)
        {
            throw ApiException.InvalidField(field, "must not be empty");
        }

        return data.Length > maxBytes ? throw TooLarge(field, maxBytes) : data;
    }

    private static long? QueryNumber(HttpContext context, string name, long min, long max)
    {
        if (!context.Request.Query.TryGetValue(name, out var values))
        {
            return null;
        }

        return values.Count == 1
            && long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            && value >= min && value <= max
                ? value
                : throw ApiException.InvalidField(name, $"must be a whole number from {min} to {max}");
    }

    private static IResult Conflict(string error, string message, AppStateHead head)
    {
        ClusterMetrics.AppStateConflicts.Add(1, new KeyValuePair<string, object?>("reason", error));
        return Results.Json(
            new AppStateConflictError(error, message, head.Collection, head.Version, head.SnapshotVersion),
            ProtocolJson.Default.AppStateConflictError,
            statusCode: StatusCodes.Status409Conflict);
    }

    private static ApiException TooLarge(string what, int maxBytes)
    {
        ClusterMetrics.AppStateLimitHits.Add(1, new KeyValuePair<string, object?>("limit", what + "_bytes"));
        return new ApiException(StatusCodes.Status413PayloadTooLarge, what + "_too_large", $"a {what} is at most {maxBytes} bytes");
    }

    private static ApiException TooManyPatches(string collection, AppStateOptions limits)
    {
        ClusterMetrics.AppStateLimitHits.Add(1, new KeyValuePair<string, object?>("limit", "collection_patches"));
        return new ApiException(
            StatusCodes.Status413PayloadTooLarge,
            "collection_full",
            $"{collection} holds {limits.MaxPatchesPerCollection} patches after its snapshot; upload a snapshot, which replaces the patches it covers");
    }

    private static ApiException CollectionFull(string collection, AppStateOptions limits)
    {
        ClusterMetrics.AppStateLimitHits.Add(1, new KeyValuePair<string, object?>("limit", "collection_bytes"));
        return new ApiException(
            StatusCodes.Status413PayloadTooLarge,
            "collection_full",
            $"{collection} would hold more than {limits.MaxBytesPerCollection} bytes; upload a snapshot, which replaces the patches it covers");
    }
}
