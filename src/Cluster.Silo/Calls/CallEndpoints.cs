using Cluster.Abstractions.Calls;
using Cluster.Silo.Authentication;
using Cluster.Silo.Devices;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Calls;

/// <summary>
/// <c>/v1/calls</c> over HTTP: the routes only; each action is <see cref="CallActions"/>'s (the path the device socket's
/// call requests take too), read from the HTTP body. <c>GET /v1/calls/{callId}</c> (a ringing callee device's own
/// offer) is HTTP only. Every decision about the call is its <see cref="ICallGrain"/>'s.
/// </summary>
internal static class CallEndpoints
{
    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPost("/calls", StartAsync).Operation("startCall", "Calls", "Ring the callee's devices").Accepts<StartCallRequest>().Returns<CallIdResponse>(201).Error<MismatchedDevicesError>(409).Error<StaleDevicesError>(410).Errors(400, 404, 413, 429).RequireAuthorization();
        v1.MapGet("/calls/{callId}", GetOfferAsync).Operation("getCallOffer", "Calls", "This callee device's own sealed offer while the call rings").Returns<CallOfferResponse>().Errors(400, 403, 404, 409).RequireAuthorization();
        v1.MapPost("/calls/{callId}/answer", AnswerAsync).Operation("answerCall", "Calls", "Answer a ringing call from this device").Accepts<CallPayloadRequest>().Returns<CallIdResponse>().Errors(400, 403, 404, 409, 413).RequireAuthorization();
        v1.MapPost("/calls/{callId}/reject", RejectAsync).Operation("rejectCall", "Calls", "Reject a ringing call").ReturnsNothing().Errors(400, 403, 404, 409).RequireAuthorization();
        v1.MapPost("/calls/{callId}/hangup", HangupAsync).Operation("hangupCall", "Calls", "End a call").ReturnsNothing().Errors(400, 403, 404, 409).RequireAuthorization();
        v1.MapPost("/calls/{callId}/ice", IceAsync).Operation("relayIce", "Calls", "Relay ICE candidates to the other party").Accepts<CallPayloadRequest>().ReturnsNothing().Errors(400, 403, 404, 409, 413, 429).RequireAuthorization();
    }

    private static async Task<IResult> StartAsync(HttpContext context, CallActions calls) =>
        (await calls.StartAsync(context.Device().Address, JsonRequestBody.Http(context))).ToResult();

    private static async Task<IResult> AnswerAsync(HttpContext context, string callId, CallActions calls) =>
        (await calls.AnswerAsync(context.Device().Address, callId, JsonRequestBody.Http(context))).ToResult();

    /// <summary>A ringing callee device's own offer (a device woken by a call push missed the live <c>callOffer</c>).</summary>
    private static async Task<IResult> GetOfferAsync(HttpContext context, string callId, CallActions calls)
    {
        var offer = await calls.Call(callId).GetOfferAsync(context.Device().Address);
        return CallActions.Outcome(offer.Status, offer.Status == CallActionStatus.Done
            ? Answer.Json(StatusCodes.Status200OK, new CallOfferResponse(callId, offer.From, offer.FromDevice, offer.Payload, offer.RingsUntil), ProtocolJson.Default.CallOfferResponse)
            : Answer.NoContent).ToResult();
    }

    private static async Task<IResult> RejectAsync(HttpContext context, string callId, CallActions calls) =>
        (await calls.RejectAsync(context.Device().Address, callId)).ToResult();

    private static async Task<IResult> HangupAsync(HttpContext context, string callId, CallActions calls) =>
        (await calls.HangupAsync(context.Device().Address, callId)).ToResult();

    private static async Task<IResult> IceAsync(HttpContext context, string callId, CallActions calls) =>
        (await calls.RelayIceAsync(context.Device().Address, callId, JsonRequestBody.Http(context))).ToResult();
}
