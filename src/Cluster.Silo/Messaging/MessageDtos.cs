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

/// <summary>What a device sends up its socket: <c>{"kind":"ack","ids":[...]}</c>.</summary>
public sealed class SocketClientFrame
{
    public string? Kind { get; set; }

    public List<Guid>? Ids { get; set; }
}
