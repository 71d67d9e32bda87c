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
