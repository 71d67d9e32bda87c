// The wire shapes of /v1/calls; no logic. Changing one changes the protocol (docs/protocol.md).

namespace Cluster.Silo.Calls;

/// <summary>One callee device's offer in <c>POST /v1/calls</c>.</summary>
public sealed class CallOfferDto
{
    public int? DeviceId { get; set; }

    public int? RegistrationId { get; set; }

    public byte[]? Payload { get; set; }
}

/// <summary><c>POST /v1/calls</c>.</summary>
public sealed class StartCallRequest
{
    public string? To { get; set; }

    public List<CallOfferDto?>? Offers { get; set; }
}

/// <summary><c>POST /v1/calls/{callId}/answer</c> and <c>/ice</c>: an opaque payload for the other party's device.</summary>
public sealed class CallPayloadRequest
{
    public byte[]? Payload { get; set; }
}

/// <summary>The answer to a started or answered call.</summary>
public sealed record CallIdResponse(string CallId);

/// <summary><c>GET /v1/calls/{callId}</c>: the calling device's offer for this device, as the <c>callOffer</c> event carries it, and when ringing ends (Unix ms).</summary>
public sealed record CallOfferResponse(string CallId, string From, int FromDevice, byte[] Payload, long RingsUntil);
