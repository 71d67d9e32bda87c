using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Calls;
using Cluster.Grains.Calls;
using Cluster.Silo.Authentication;
using Cluster.Silo.Devices;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Calls;

/// <summary>
/// <c>/v1/calls</c> (and <c>GET /v1/calls/{callId}</c>, a ringing callee device's own offer): the gateway checks the shape of each request and leaves every decision about the call to its
/// <see cref="ICallGrain"/>.
/// </summary>
internal static class CallEndpoints
{
    /// <summary>Room in a <c>POST /v1/calls</c> body for this many offers (more than any account has devices).</summary>
    private const int MaxOffersInBody = 8;

    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPost("/calls", StartAsync).Operation("startCall", "Calls", "Ring the callee's devices").Accepts<StartCallRequest>().Returns<CallIdResponse>(201).Error<MismatchedDevicesError>(409).Error<StaleDevicesError>(410).Errors(400, 404, 413, 429).RequireAuthorization();
        v1.MapGet("/calls/{callId}", GetOfferAsync).Operation("getCallOffer", "Calls", "This callee device's own sealed offer while the call rings").Returns<CallOfferResponse>().Errors(400, 403, 404, 409).RequireAuthorization();
        v1.MapPost("/calls/{callId}/answer", AnswerAsync).Operation("answerCall", "Calls", "Answer a ringing call from this device").Accepts<CallPayloadRequest>().Returns<CallIdResponse>().Errors(400, 403, 404, 409, 413).RequireAuthorization();
        v1.MapPost("/calls/{callId}/reject", RejectAsync).Operation("rejectCall", "Calls", "Reject a ringing call").ReturnsNothing().Errors(400, 403, 404, 409).RequireAuthorization();
        v1.MapPost("/calls/{callId}/hangup", HangupAsync).Operation("hangupCall", "Calls", "End a call").ReturnsNothing().Errors(400, 403, 404, 409).RequireAuthorization();
        v1.MapPost("/calls/{callId}/ice", IceAsync).Operation("relayIce", "Calls", "Relay ICE candidates to the other party").Accepts<CallPayloadRequest>().ReturnsNothing().Errors(400, 403, 404, 409, 413, 429).RequireAuthorization();
    }

    private static async Task<IResult> StartAsync(HttpContext context, IGrainFactory grains, IOptions<CallOptions> options, SenderLimits senderLimits)
    {
        var caller = context.Device().Address;
        var maxPayloadBytes = options.Value.MaxPayloadBytes;
        JsonBody.LimitBody(context, (long)maxPayloadBytes * 4 / 3 * MaxOffersInBody + 64 * 1024);
        var body = await JsonBody.ReadAsync(context, ProtocolJson.Default.StartCallRequest);
        var callee = body.To ?? throw ApiException.MissingField("to");
        if (!AccountIds.IsValid(callee))
        {
            throw ApiException.InvalidField("to", "must be an E.164 number");
        }

        if (senderLimits.TryCall(caller, callee) is { } refusal)
        {
            return refusal.ToResult(context);
        }

        var offers = ValidateOffers(body.Offers, maxPayloadBytes);
        var callId = CallIds.New();
        var result = await grains.GetGrain<ICallGrain>(callId).StartAsync(new StartCall { Caller = caller, Callee = callee, Offers = offers });
        return result.Status switch
        {
            StartCallStatus.Ringing => Results.Json(new CallIdResponse(callId), ProtocolJson.Default.CallIdResponse, statusCode: StatusCodes.Status201Created),
            StartCallStatus.UnknownAccount => throw ApiException.NotFound("account"),
            StartCallStatus.MismatchedDevices => DeviceMismatch.Mismatched(
                "the offers do not cover exactly the callee's current devices", result.MissingDevices, result.ExtraDevices),
            _ => DeviceMismatch.Stale(result.StaleDevices),
        };
    }

    private static async Task<IResult> AnswerAsync(HttpContext context, string callId, IGrainFactory grains, IOptions<CallOptions> options)
    {
        var call = Call(grains, callId);
        var payload = await ReadPayloadAsync(context, options.Value.MaxPayloadBytes);
        var status = await call.AnswerAsync(context.Device().Address, payload);
        return Outcome(status, Results.Json(new CallIdResponse(callId), ProtocolJson.Default.CallIdResponse));
    }

    /// <summary>A ringing callee device's own offer (a device woken by a call push missed the live <c>callOffer</c>).</summary>
    private static async Task<IResult> GetOfferAsync(HttpContext context, string callId, IGrainFactory grains)
    {
        var offer = await Call(grains, callId).GetOfferAsync(context.Device().Address);
        return Outcome(offer.Status, offer.Status == CallActionStatus.Done
            ? Results.Json(new CallOfferResponse(callId, offer.From, offer.FromDevice, offer.Payload, offer.RingsUntil), ProtocolJson.Default.CallOfferResponse)
            : Results.NoContent());
    }

    private static async Task<IResult> RejectAsync(HttpContext context, string callId, IGrainFactory grains) =>
        Outcome(await Call(grains, callId).RejectAsync(context.Device().Address), Results.NoContent());

    private static async Task<IResult> HangupAsync(HttpContext context, string callId, IGrainFactory grains) =>
        Outcome(await Call(grains, callId).HangupAsync(context.Device().Address), Results.NoContent());

    private static async Task<IResult> IceAsync(HttpContext context, string callId, IGrainFactory grains, IOptions<CallOptions> options, SenderLimits senderLimits)
    {
        var call = Call(grains, callId);
        if (senderLimits.TryIce(context.Device().Address) is { } refusal)
        {
            return refusal.ToResult(context);
        }

        var payload = await ReadPayloadAsync(context, options.Value.MaxPayloadBytes);
        return Outcome(await call.RelayIceAsync(context.Device().Address, payload), Results.NoContent());
    }

    private static ICallGrain Call(IGrainFactory grains, string callId) => CallIds.IsValid(callId)
        ? grains.GetGrain<ICallGrain>(callId)
        : throw ApiException.InvalidField("callId", "must be a call id (32 lowercase hex digits)");

    private static IResult Outcome(CallActionStatus status, IResult done) => status switch
    {
        CallActionStatus.Done => done,
        CallActionStatus.NotFound => throw ApiException.NotFound("call"),
        CallActionStatus.Forbidden => throw ApiException.Forbidden("this device is not in the call, or not in a role that may do this"),
        CallActionStatus.Ended => throw new ApiException(StatusCodes.Status409Conflict, "call_ended", "the call has ended"),
        CallActionStatus.NotRinging => throw new ApiException(StatusCodes.Status409Conflict, "call_not_ringing", "the call is no longer ringing: another device answered it"),
        CallActionStatus.NotAnswered => throw new ApiException(StatusCodes.Status409Conflict, "call_not_answered", "nobody has answered the call yet"),
        _ => throw new InvalidOperationException($"unexpected call status {status}"),
    };

    private static async Task<byte[]> ReadPayloadAsync(HttpContext context, int maxPayloadBytes)
    {
        JsonBody.LimitBody(context, (long)maxPayloadBytes * 4 / 3 + 16 * 1024);
        var body = await JsonBody.ReadAsync(context, ProtocolJson.Default.CallPayloadRequest);
        return ValidatePayload(body.Payload, "payload", maxPayloadBytes);
    }

    private static List<CallOfferCopy> ValidateOffers(List<CallOfferDto?>? offers, int maxPayloadBytes) =>
        DeviceCopies.Validate(offers, "offers", o => o.DeviceId, o => o.RegistrationId, (offer, field, deviceId, registrationId) =>
            new CallOfferCopy(deviceId, registrationId, ValidatePayload(offer.Payload, $"{field}.payload", maxPayloadBytes)));

    private static byte[] ValidatePayload(byte[]? payload, string field, int maxPayloadBytes)
    {
        if (payload is null)
        {
            throw ApiException.MissingField(field);
        }

        if (payload.Length == 0)
        {
            throw ApiException.InvalidField(field, "must not be empty");
        }

        return payload.Length <= maxPayloadBytes
            ? payload
            : throw new ApiException(StatusCodes.Status413PayloadTooLarge, "payload_too_large", $"{field}: over {maxPayloadBytes} bytes", field);
    }
}
