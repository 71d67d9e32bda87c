using System.Globalization;
using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Cluster.Silo.Authentication;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Keys;

/// <summary>
/// <c>PUT/GET /v1/keys</c> (the device's own prekeys) and <c>GET /v1/keys/{accountId}/{deviceId}</c> (bundles for a
/// sender). Owns no state: checks keys and signatures with <see cref="KeyValidation"/>, then asks the device and account
/// grains, which hold the keys and the fetch limit.
/// </summary>
internal static class KeyEndpoints
{
    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPut("/keys", UploadAsync).Operation("uploadKeys", "Keys", "Upload pre-keys of this device").Accepts<KeysUploadRequest>().ReturnsNothing().Errors(400, 413, 422).RequireAuthorization();
        v1.MapGet("/keys", GetCountsAsync).Operation("getKeyCounts", "Keys", "How many one-time pre-keys this device has left").Returns<KeyCountsResponse>().Errors().RequireAuthorization();
        v1.MapGet("/keys/{accountId}/{deviceId}", GetBundlesAsync).Operation("getPreKeyBundles", "Keys", "Pre-key bundles of a device (or * for all devices)").Returns<BundleResponse>().Error<ApiError>(429).Errors(400, 404).RequireAuthorization();
    }

    private static async Task<IResult> UploadAsync(HttpContext context, IGrainFactory grains)
    {
        var device = context.Device();
        var request = await JsonBody.ReadAsync(context, ProtocolJson.Default.KeysUploadRequest);
        var upload = KeyValidation.Upload(request.SignedPreKey, request.KemLastResortKey, request.OneTimePreKeys, request.KemOneTimeKeys, requireBaseKeys: false);
        KeyValidation.VerifySignatures(upload, device.Credential.IdentityKey);
        await grains.GetGrain<IDeviceGrain>(device.Address.GrainKey).UploadKeysAsync(upload);
        return Results.NoContent();
    }

    private static async Task<IResult> GetCountsAsync(HttpContext context, IGrainFactory grains)
    {
        var counts = await grains.GetGrain<IDeviceGrain>(context.Device().Address.GrainKey).GetCountsAsync();
        return Results.Json(new KeyCountsResponse(counts.OneTimeCount, counts.KemOneTimeCount), ProtocolJson.Default.KeyCountsResponse);
    }

    private static async Task<IResult> GetBundlesAsync(HttpContext context, IGrainFactory grains, string accountId, string deviceId)
    {
        if (!AccountIds.IsValid(accountId))
        {
            throw ApiException.InvalidField("accountId", "must be an E.164 number");
        }

        int? wanted = null;
        if (deviceId != "*")
        {
            wanted = int.TryParse(deviceId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 1
                ? id
                : throw ApiException.InvalidField("deviceId", "must be a device id or *");
        }

        var targets = await grains.GetGrain<IAccountGrain>(accountId).GetKeyTargetsAsync(context.Device().Address, wanted);
        switch (targets.Status)
        {
            case KeyTargetsStatus.NotFound:
                throw ApiException.NotFound(wanted is null ? "account" : "device");
            case KeyTargetsStatus.RateLimited:
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(targets.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return ApiErrorHandling.Error(StatusCodes.Status429TooManyRequests, "rate_limited", "too many key fetches for this account; retry later");
        }

        var fetches = new Task<Abstractions.Keys.PreKeyBundle?>[targets.Devices.Count];
        for (var i = 0; i < fetches.Length; i++)
        {
            fetches[i] = grains.GetGrain<IDeviceGrain>(new DeviceAddress(accountId, targets.Devices[i].DeviceId).GrainKey).TakeBundleAsync();
        }

        var bundles = await Task.WhenAll(fetches);
        var devices = new List<BundleDeviceResponse>(bundles.Length);
        for (var i = 0; i < bundles.Length; i++)
        {
            // A device without keys cannot be the target of a session; it is left out (as Signal-Server does).
            if (bundles[i] is { } bundle)
            {
                var target = targets.Devices[i];
                devices.Add(new BundleDeviceResponse(
                    target.DeviceId,
                    target.RegistrationId,
                    target.IdentityKey,
                    KeyValidation.ToDto(bundle.SignedPreKey),
                    bundle.OneTimePreKey is { } oneTime ? KeyValidation.ToDto(oneTime) : null,
                    KeyValidation.ToDto(bundle.KemPreKey)));
            }
        }

        if (devices.Count == 0)
        {
            throw ApiException.NotFound(wanted is null ? "account" : "device");
        }

        return Results.Json(new BundleResponse(targets.IdentityKey!, devices), ProtocolJson.Default.BundleResponse);
    }
}
