using System.Globalization;
using Cluster.Abstractions.Accounts;
using Cluster.Silo.Accounts;
using Cluster.Silo.Authentication;
using Cluster.Silo.Keys;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;
using Cluster.Signal;

namespace Cluster.Silo.Devices;

/// <summary>Linking companions, the signed device list, the device registry as senders see it, and removal.</summary>
internal static class DeviceEndpoints
{
    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPost("/devices/link-token", CreateLinkTokenAsync).Operation("createLinkToken", "Devices", "A one-time token for linking a companion device (primary only)").Returns<LinkTokenResponse>(201).Error<ApiError>(429).Errors(403).RequireAuthorization();
        v1.MapPut("/devices/link", LinkAsync).Operation("linkDevice", "Devices", "Link a companion device with a link token").Accepts<LinkDeviceRequest>().Returns<LinkDeviceResponse>(201).Errors(403, 409, 411, 422).RequireRateLimiting(AnonymousLimits.LinkPolicy);
        v1.MapPut("/devices/list", PublishListAsync).Operation("publishDeviceList", "Devices", "Publish the signed device list (primary only)").Accepts<DeviceListRequest>().ReturnsNothing().Errors(400, 403, 409, 422).RequireAuthorization();
        v1.MapDelete("/devices/{deviceId}", RemoveAsync).Operation("removeDevice", "Devices", "Unlink a companion device").ReturnsNothing().Errors(400, 403, 404).RequireAuthorization();
        v1.MapGet("/accounts/{accountId}/devices", GetDevicesAsync).Operation("getAccountDevices", "Devices", "Another account's devices, identity keys and signed device list").Returns<AccountDevicesResponse>().Errors(400, 404, 429).RequireAuthorization();
    }

    private static async Task<IResult> CreateLinkTokenAsync(
        HttpContext context, IGrainFactory grains, [FromKeyedServices(Cluster.Grains.ClusterClock.Key)] TimeProvider time)
    {
        var device = RequirePrimary(context);
        var token = await grains.GetGrain<IAccountGrain>(device.Address.AccountId).CreateLinkTokenAsync();
        if (token.Token is { } value)
        {
            return Results.Json(new LinkTokenResponse(value, token.ExpiresAt), ProtocolJson.Default.LinkTokenResponse, statusCode: StatusCodes.Status201Created);
        }

        // Retry-After: when the oldest outstanding token expires (at least a second).
        var wait = Math.Max(1, (token.ExpiresAt - time.GetUtcNow().ToUnixTimeMilliseconds() + 999) / 1000);
        context.Response.Headers.RetryAfter = wait.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ApiErrorHandling.Error(StatusCodes.Status429TooManyRequests, "too_many_link_tokens", "too many unexpired link tokens; use one or let them expire");
    }

    private static async Task<IResult> LinkAsync(HttpContext context, IGrainFactory grains, PasswordHashing passwords)
    {
        var request = await JsonBody.ReadAsync(context, ProtocolJson.Default.LinkDeviceRequest);
        var accountId = request.AccountId ?? throw ApiException.MissingField("accountId");
        if (!AccountIds.IsValid(accountId))
        {
            throw ApiException.InvalidField("accountId", "must be an E.164 number");
        }

        var token = request.Token is { Length: > 0 and <= 256 } t ? t : throw (request.Token is null ? ApiException.MissingField("token") : ApiException.InvalidField("token", "must be a link token"));
        var password = request.Password ?? throw ApiException.MissingField("password");
        if (!DeviceAuthentication.IsValidPassword(password))
        {
            throw ApiException.InvalidField("password", "must be 16 to 128 printable ASCII characters");
        }

        var registrationId = AccountEndpoints.ValidateRegistrationId(request.RegistrationId);
        var name = AccountEndpoints.ValidateName(request.Name);
        var identityKey = KeyValidation.EcPublicKey(request.IdentityKey, "identityKey");
        var keyIndex = request.KeyIndex switch
        {
            null => throw ApiException.MissingField("keyIndex"),
            < 1 or > uint.MaxValue => throw ApiException.InvalidField("keyIndex", "must be a u32 of 1 or more"),
            { } value => value,
        };
        var metadataBytes = request.LinkingMetadata ?? throw ApiException.MissingField("linkingMetadata");
        if (!LinkingMetadata.TryParse(metadataBytes, out var metadata, out var metadataError))
        {
            throw ApiException.InvalidField("linkingMetadata", metadataError.Message);
        }

        var accountSignature = Signature(request.AccountSignature, "accountSignature");
        var deviceSignature = Signature(request.DeviceSignature, "deviceSignature");
        var keys = KeyValidation.Upload(request.SignedPreKey, request.KemLastResortKey, request.OneTimePreKeys, request.KemOneTimeKeys, requireBaseKeys: true);
        KeyValidation.VerifySignatures(keys, identityKey);

        if (await passwords.HashAsync(password, context.RequestAborted) is not { } passwordHash)
        {
            return RateLimitRefusal.HashingBusy.ToResult(context);
        }

        var result = await grains.GetGrain<IAccountGrain>(accountId).LinkDeviceAsync(new LinkDevice
        {
            Token = token,
            MetadataAccountId = metadata.AccountId,
            MetadataKeyIndex = metadata.KeyIndex,
            Device = new AddDevice
            {
                PasswordHash = passwordHash,
                RegistrationId = registrationId,
                Name = name,
                IdentityKey = identityKey,
                KeyIndex = keyIndex,
                LinkingMetadata = metadataBytes,
                AccountSignature = accountSignature,
                DeviceSignature = deviceSignature,
                Keys = keys,
            },
        });
        return result.Status switch
        {
            LinkStatus.Linked => Results.Json(new LinkDeviceResponse(result.DeviceId), ProtocolJson.Default.LinkDeviceResponse, statusCode: StatusCodes.Status201Created),
            LinkStatus.BadToken => throw new ApiException(StatusCodes.Status403Forbidden, "bad_link_token", "the link token is not a valid, unused, unexpired token of this account", "token"),
            LinkStatus.TooManyDevices => throw new ApiException(StatusCodes.Status411LengthRequired, "too_many_devices", "the account has as many devices as it may have"),
            LinkStatus.StaleKeyIndex => throw new ApiException(StatusCodes.Status409Conflict, "stale_key_index", "keyIndex must be greater than every key index the account used", "keyIndex"),
            LinkStatus.BadLinkingMetadata => throw new ApiException(StatusCodes.Status422UnprocessableEntity, "bad_linking_metadata", "linkingMetadata must name this account and this keyIndex", "linkingMetadata"),
            LinkStatus.BadAccountSignature => throw ApiException.BadSignature("accountSignature"),
            _ => throw ApiException.BadSignature("deviceSignature"),
        };
    }

    private static async Task<IResult> PublishListAsync(HttpContext context, IGrainFactory grains)
    {
        var device = RequirePrimary(context);
        var request = await JsonBody.ReadAsync(context, ProtocolJson.Default.DeviceListRequest);
        var bytes = request.List ?? throw ApiException.MissingField("list");
        var signature = Signature(request.Signature, "signature");
        if (!KeyIndexList.TryParse(bytes, out var list, out var error))
        {
            throw ApiException.InvalidField("list", error.Message);
        }

        var status = await grains.GetGrain<IAccountGrain>(device.Address.AccountId).PublishDeviceListAsync(
            new SignedDeviceList(bytes, signature), list.TimestampMs, list.AccountId, list.ValidIndexes.Select(i => (long)i).ToList(), device.Address.DeviceId);
        return status switch
        {
            DeviceListStatus.Published => Results.NoContent(),
            DeviceListStatus.BadSignature => throw ApiException.BadSignature("signature"),
            DeviceListStatus.WrongAccount => throw new ApiException(StatusCodes.Status422UnprocessableEntity, "bad_device_list", "the list names another account", "list"),
            DeviceListStatus.Stale => throw new ApiException(StatusCodes.Status409Conflict, "stale_device_list", "the list's timestamp must be later than the stored list's", "list"),
            _ => throw new ApiException(StatusCodes.Status409Conflict, "device_list_mismatch", "validIndexes must be exactly the key indexes of the linked companions", "list"),
        };
    }

    private static async Task<IResult> RemoveAsync(HttpContext context, IGrainFactory grains, string deviceId)
    {
        var device = context.Device();
        if (!int.TryParse(deviceId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1)
        {
            throw ApiException.InvalidField("deviceId", "must be a device id");
        }

        if (!device.Address.IsPrimary && device.Address.DeviceId != id)
        {
            throw ApiException.Forbidden("only the primary, or the device itself, may remove a device");
        }

        var status = await grains.GetGrain<IAccountGrain>(device.Address.AccountId).RemoveDeviceAsync(id, device.Address.DeviceId);
        return status switch
        {
            RemoveDeviceStatus.Removed => Results.NoContent(),
            RemoveDeviceStatus.IsPrimary => throw new ApiException(StatusCodes.Status400BadRequest, "cannot_remove_primary", "the primary device cannot remove itself", "deviceId"),
            _ => throw ApiException.NotFound("device"),
        };
    }

    private static async Task<IResult> GetDevicesAsync(HttpContext context, IGrainFactory grains, string accountId)
    {
        if (!AccountIds.IsValid(accountId))
        {
            throw ApiException.InvalidField("accountId", "must be an E.164 number");
        }

        var devices = await grains.GetGrain<IAccountGrain>(accountId).GetDeviceIdentitiesAsync(context.Device().Address.AccountId);
        if (!devices.Exists)
        {
            throw ApiException.NotFound("account");
        }

        var list = devices.DeviceList is { } signed ? new SignedDeviceListDto(signed.List, signed.Signature) : null;
        var identities = devices.Devices
            .Select(d => new DeviceIdentityDto(d.DeviceId, d.RegistrationId, d.IdentityKey, d.KeyIndex, d.LinkingMetadata, d.AccountSignature, d.DeviceSignature))
            .ToList();
        return Results.Json(new AccountDevicesResponse(accountId, devices.PrimaryIdentityKey, list, identities), ProtocolJson.Default.AccountDevicesResponse);
    }

    private static AuthenticatedDevice RequirePrimary(HttpContext context)
    {
        var device = context.Device();
        return device.Address.IsPrimary ? device : throw ApiException.Forbidden("only the primary device may do this");
    }

    private static byte[] Signature(byte[]? value, string field)
    {
        var signature = value ?? throw ApiException.MissingField(field);
        return KeyFormat.ValidateSignature(signature) is { } error ? throw ApiException.InvalidField(field, error.Message) : signature;
    }
}
