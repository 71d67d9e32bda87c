using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Messaging;
using Cluster.Grains;
using Cluster.Grains.Messaging;
using Cluster.Silo.Devices;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Messaging;

/// <summary>
/// The one send path of <c>PUT /v1/messages/{accountId}</c>, whether the request came over HTTP
/// (<see cref="MessageEndpoints"/>) or over the device socket (<see cref="SocketRequests"/>): the destination and the
/// sender's limits first (<c>RateLimiting/SenderLimits</c>, before the body is read), then the copies
/// (<c>Devices/DeviceCopies</c>), then <see cref="MessageSender"/> or, with a <c>clientMessageId</c>, the sender's outbox
/// grain (its receipts make a retry on either transport store nothing twice). The answer comes once every envelope is
/// durable; a mismatch is answered by <c>Devices/DeviceMismatch</c>. Owns no state; refusals of the input are thrown as
/// <see cref="ApiException"/>.
/// </summary>
internal sealed class MessageSends(IGrainFactory grains, MessageSender sender, IOptions<MessagingOptions> options, SenderLimits senderLimits)
{
    private const int MaxClientMessageIdLength = 128;

    private readonly int maxContentBytes = options.Value.MaxContentBytes;

    /// <summary>The largest body a send may have: room for one copy per device of a full account, base64-encoded, plus the JSON around them.</summary>
    public long MaxBodyBytes { get; } = (long)options.Value.MaxContentBytes * 4 / 3 * 8 + 64 * 1024;

    /// <summary>
    /// Checks the destination (400 naming <c>accountId</c>) and takes a send from the sender's limits; the refusal when
    /// over one (nothing is stored, the body need not be read).
    /// </summary>
    public RateLimitRefusal? Admit(DeviceAddress device, string? destination)
    {
        if (destination is null)
        {
            throw ApiException.MissingField("accountId");
        }

        if (!AccountIds.IsValid(destination))
        {
            throw ApiException.InvalidField("accountId", "must be an E.164 number");
        }

        return senderLimits.TrySend(device, destination);
    }

    /// <summary>Checks the body and sends it, once admitted (<see cref="Admit"/>): 200 once every copy is durably stored, or the 404/409/410.</summary>
    /// <param name="device">The sending device.</param>
    /// <param name="credential">What its account holds about it now (its incarnation, the account's device count).</param>
    /// <param name="destination">The destination account, checked by <see cref="Admit"/>.</param>
    /// <param name="body">The body as sent.</param>
    public async Task<Answer> SendAsync(DeviceAddress device, DeviceCredential credential, string destination, SendMessagesRequest body)
    {
        var request = new SendRequest
        {
            Sender = device,
            SenderIncarnation = credential.Incarnation,
            SenderDeviceCount = credential.AccountDeviceCount,
            Destination = destination,
            Messages = ValidateMessages(body.Messages),
            Timestamp = body.Timestamp is { } timestamp && timestamp >= 0 ? timestamp : throw (body.Timestamp is null
                ? ApiException.MissingField("timestamp")
                : ApiException.InvalidField("timestamp", "must be Unix milliseconds")),
            Online = body.Online ?? false,
            Urgent = body.Urgent ?? true,
            WakeNow = body.Urgent == true,
            ClientMessageId = body.ClientMessageId is { Length: 0 or > MaxClientMessageIdLength }
                ? throw ApiException.InvalidField("clientMessageId", $"must be 1..{MaxClientMessageIdLength} characters")
                : body.ClientMessageId,
        };

        var result = request.ClientMessageId is null
            ? await sender.SendAsync(request)
            : await grains.Get<IOutboxGrain>(device.GrainKey).SendAsync(request);

        return result.Status switch
        {
            SendStatus.Sent => Answer.Json(StatusCodes.Status200OK, new SendMessagesResponse(result.NeedsSync), ProtocolJson.Default.SendMessagesResponse),
            SendStatus.UnknownAccount => throw ApiException.NotFound("account"),
            SendStatus.MismatchedDevices => DeviceMismatch.MismatchedAnswer(
                "the messages do not cover exactly the destination's current devices", result.MissingDevices, result.ExtraDevices),
            _ => DeviceMismatch.StaleAnswer(result.StaleDevices),
        };
    }

    private List<OutgoingMessage> ValidateMessages(List<OutgoingMessageDto?>? messages) =>
        DeviceCopies.Validate(messages, "messages", m => m.DeviceId, m => m.RegistrationId, (message, field, deviceId, registrationId) =>
        {
            var type = message.Type ?? throw ApiException.MissingField($"{field}.type");
            if (type < 1)
            {
                throw ApiException.InvalidField($"{field}.type", "must be a message type of 1 or more (0 is reserved for server notices)");
            }

            var content = message.Content ?? throw ApiException.MissingField($"{field}.content");
            if (content.Length > maxContentBytes)
            {
                throw new ApiException(StatusCodes.Status413PayloadTooLarge, "content_too_large", $"{field}.content: over {maxContentBytes} bytes", field + ".content");
            }

            return new OutgoingMessage(deviceId, registrationId, type, content);
        });
}
