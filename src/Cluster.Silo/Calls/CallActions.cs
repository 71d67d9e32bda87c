using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Calls;
using Cluster.Grains.Calls;
using Cluster.Silo.Devices;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Calls;

/// <summary>
/// The one path of the call actions, whether they came over HTTP (<see cref="CallEndpoints"/>) or over the device socket
/// (<c>Messaging/SocketRequests</c>, types <c>startCall</c>, <c>answerCall</c>, <c>rejectCall</c>, <c>hangupCall</c>,
/// <c>relayIce</c>): each checks the shape of its request and its sender limit (<c>RateLimiting/SenderLimits</c>) in the
/// order the route always did, and leaves every decision about the call to its <see cref="ICallGrain"/>. Owns no state;
/// refusals of the input are thrown as <see cref="ApiException"/>.
/// </summary>
internal sealed class CallActions(IGrainFactory grains, IOptions<CallOptions> options, SenderLimits senderLimits)
{
    /// <summary>Room in a <c>POST /v1/calls</c> body for this many offers (more than any account has devices).</summary>
    private const int MaxOffersInBody = 8;

    private readonly int maxPayloadBytes = options.Value.MaxPayloadBytes;

    /// <summary>The largest <c>POST /v1/calls</c> body.</summary>
    public long MaxStartBodyBytes { get; } = (long)options.Value.MaxPayloadBytes * 4 / 3 * MaxOffersInBody + 64 * 1024;

    /// <summary>The largest body of <c>/answer</c> and <c>/ice</c>.</summary>
    public long MaxPayloadBodyBytes { get; } = (long)options.Value.MaxPayloadBytes * 4 / 3 + 16 * 1024;

    /// <summary><c>POST /v1/calls</c>: 201 with the call id once the callee's devices ring, or the 404/409/410/429.</summary>
    public async Task<Answer> StartAsync(DeviceAddress caller, JsonRequestBody body)
    {
        var request = await body.ReadAsync(ProtocolJson.Default.StartCallRequest, MaxStartBodyBytes);
        var callee = request.To ?? throw ApiException.MissingField("to");
        if (!AccountIds.IsValid(callee))
        {
            throw ApiException.InvalidField("to", "must be an E.164 number");
        }

        if (senderLimits.TryCall(caller, callee) is { } refusal)
        {
            return refusal.ToAnswer();
        }

        var offers = ValidateOffers(request.Offers);
        var callId = CallIds.New();
        var result = await grains.GetGrain<ICallGrain>(callId).StartAsync(new StartCall { Caller = caller, Callee = callee, Offers = offers });
        return result.Status switch
        {
            StartCallStatus.Ringing => Answer.Json(StatusCodes.Status201Created, new CallIdResponse(callId), ProtocolJson.Default.CallIdResponse),
            StartCallStatus.UnknownAccount => throw ApiException.NotFound("account"),
            StartCallStatus.MismatchedDevices => DeviceMismatch.MismatchedAnswer(
                "the offers do not cover exactly the callee's current devices", result.MissingDevices, result.ExtraDevices),
            _ => DeviceMismatch.StaleAnswer(result.StaleDevices),
        };
    }

    /// <summary><c>POST /v1/calls/{callId}/answer</c>.</summary>
    public async Task<Answer> AnswerAsync(DeviceAddress device, string? callId, JsonRequestBody body)
    {
        var call = Call(callId);
        var payload = await ReadPayloadAsync(body);
        return Outcome(await call.AnswerAsync(device, payload), Answer.Json(StatusCodes.Status200OK, new CallIdResponse(callId!), ProtocolJson.Default.CallIdResponse));
    }

    /// <summary><c>POST /v1/calls/{callId}/reject</c>.</summary>
    public async Task<Answer> RejectAsync(DeviceAddress device, string? callId) => Outcome(await Call(callId).RejectAsync(device), Answer.NoContent);

    /// <summary><c>POST /v1/calls/{callId}/hangup</c>.</summary>
    public async Task<Answer> HangupAsync(DeviceAddress device, string? callId) => Outcome(await Call(callId).HangupAsync(device), Answer.NoContent);

    /// <summary><c>POST /v1/calls/{callId}/ice</c>: the call id, then the device's ICE limit, then the payload.</summary>
    public async Task<Answer> RelayIceAsync(DeviceAddress device, string? callId, JsonRequestBody body)
    {
        var call = Call(callId);
        if (senderLimits.TryIce(device) is { } refusal)
        {
            return refusal.ToAnswer();
        }

        var payload = await ReadPayloadAsync(body);
        return Outcome(await call.RelayIceAsync(device, payload), Answer.NoContent);
    }

    /// <summary>The call's grain; 400 naming <c>callId</c> when it is missing or not a call id.</summary>
    public ICallGrain Call(string? callId) => callId is null
        ? throw ApiException.MissingField("callId")
        : CallIds.IsValid(callId)
            ? grains.GetGrain<ICallGrain>(callId)
            : throw ApiException.InvalidField("callId", "must be a call id (32 lowercase hex digits)");

    /// <summary>The answer of a call action: <paramref name="done"/>, or the 403/404/409 the call's state gives.</summary>
    public static Answer Outcome(CallActionStatus status, Answer done) => status switch
    {
        CallActionStatus.Done => done,
        CallActionStatus.NotFound => throw ApiException.NotFound("call"),
        CallActionStatus.Forbidden => throw ApiException.Forbidden("this device is not in the call, or not in a role that may do this"),
        CallActionStatus.Ended => throw new ApiException(StatusCodes.Status409Conflict, "call_ended", "the call has ended"),
        CallActionStatus.NotRinging => throw new ApiException(StatusCodes.Status409Conflict, "call_not_ringing", "the call is no longer ringing: another device answered it"),
        CallActionStatus.NotAnswered => throw new ApiException(StatusCodes.Status409Conflict, "call_not_answered", "nobody has answered the call yet"),
        _ => throw new InvalidOperationException($"unexpected call status {status}"),
    };

    private async Task<byte[]> ReadPayloadAsync(JsonRequestBody body)
    {
        var request = await body.ReadAsync(ProtocolJson.Default.CallPayloadRequest, MaxPayloadBodyBytes);
        return ValidatePayload(request.Payload, "payload");
    }

    private List<CallOfferCopy> ValidateOffers(List<CallOfferDto?>? offers) =>
        DeviceCopies.Validate(offers, "offers", o => o.DeviceId, o => o.RegistrationId, (offer, field, deviceId, registrationId) =>
            new CallOfferCopy(deviceId, registrationId, ValidatePayload(offer.Payload, $"{field}.payload")));

    private byte[] ValidatePayload(byte[]? payload, string field)
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
