// The wire shapes of /v1/messages and the device socket's client frames; no logic. Changing one changes the protocol (docs/protocol.md).

namespace Cluster.Silo.Messaging;

/// <summary>One device's copy in <c>PUT /v1/messages/{accountId}</c>.</summary>
public sealed class OutgoingMessageDto
{
    public int? DeviceId { get; set; }

    public int? RegistrationId { get; set; }

    public int? Type { get; set; }

    public byte[]? Content { get; set; }
}

/// <summary><c>PUT /v1/messages/{accountId}</c>.</summary>
public sealed class SendMessagesRequest
{
    public List<OutgoingMessageDto?>? Messages { get; set; }

    public long? Timestamp { get; set; }

    public bool? Online { get; set; }

    public bool? Urgent { get; set; }

    public string? ClientMessageId { get; set; }
}

/// <summary>The answer to a stored send.</summary>
public sealed record SendMessagesResponse(bool NeedsSync);

/// <summary>
/// What a device sends up its socket: <c>{"kind":"ack","ids":[...]}</c>, or a request
/// <c>{"kind":"request","id":"...","type":"sendMessages","accountId":"+1...","body":{...}}</c> (<see cref="SocketRequests"/>;
/// <c>groupId</c> or <c>callId</c> in place of <c>accountId</c> for the group and call types).
/// </summary>
public sealed class SocketClientFrame
{
    public string? Kind { get; set; }

    public List<Guid>? Ids { get; set; }

    /// <summary>A request's id, chosen by the client; its response carries it back.</summary>
    public string? Id { get; set; }

    /// <summary>What a request asks for: the operation id of the HTTP route it stands for, e.g. <c>sendMessages</c>.</summary>
    public string? Type { get; set; }

    /// <summary>The route's <c>{accountId}</c>: the destination of a send.</summary>
    public string? AccountId { get; set; }

    /// <summary>The route's <c>{groupId}</c> (<c>sendGroupMessage</c>).</summary>
    public string? GroupId { get; set; }

    /// <summary>The route's <c>{callId}</c> (<c>answerCall</c>, <c>rejectCall</c>, <c>hangupCall</c>, <c>relayIce</c>).</summary>
    public string? CallId { get; set; }

    /// <summary>The route's JSON body.</summary>
    public System.Text.Json.JsonElement? Body { get; set; }
}

/// <summary>
/// One envelope as <c>GET /v1/messages</c> and the socket deliver it. The silo writes these bytes once, when it takes
/// the message (<c>Cluster.Grains.Messaging.EnvelopeJson</c>); this type describes them for the OpenAPI document.
/// </summary>
public sealed record EnvelopeDto(
    Guid Id, int Type, string SourceAccount, int SourceDevice, int DestinationDevice, long Timestamp, long ServerTimestamp, byte[] Content, bool Urgent);

/// <summary>The answer of <c>GET /v1/messages</c> (written by hand, envelope bytes as stored): a page of envelopes and whether more wait.</summary>
public sealed record MessagePageResponse(IReadOnlyList<EnvelopeDto> Envelopes, bool More);
