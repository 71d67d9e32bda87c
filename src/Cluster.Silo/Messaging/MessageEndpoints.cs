using System.Text.Json;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Messaging;
using Cluster.Silo.Authentication;
using Cluster.Silo.Devices;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Messaging;

/// <summary>
/// <c>PUT /v1/messages/{accountId}</c> (send), <c>GET /v1/messages</c> (fetch) and <c>DELETE /v1/messages/{id}</c> (ack).
/// Owns no state: checks the copies (<c>Devices/DeviceCopies</c>) and the sender's limits (<c>RateLimiting/</c>), then
/// hands the send to <see cref="MessageSender"/> or the sender's outbox grain; a mismatch is answered by
/// <c>Devices/DeviceMismatch</c>. Envelopes live in the device grain's inbox, not here.
/// </summary>
internal static class MessageEndpoints
{
    private const int MaxClientMessageIdLength = 128;
    private const int FetchPageSize = 100;

    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPut("/messages/{accountId}", SendAsync).Operation("sendMessages", "Messages", "Send one message as a copy per device of the recipient (and the sender's other devices)").Accepts<SendMessagesRequest>().Returns<SendMessagesResponse>().Error<MismatchedDevicesError>(409).Error<StaleDevicesError>(410).Errors(400, 404, 413, 429).RequireAuthorization();
        v1.MapGet("/messages", FetchAsync).Operation("fetchMessages", "Messages", "Fetch queued envelopes of this device").Returns<MessagePageResponse>().Errors().RequireAuthorization();
        v1.MapDelete("/messages/{id}", AckAsync).Operation("ackMessage", "Messages", "Acknowledge (delete) one envelope").ReturnsNothing().Errors(400, 404).RequireAuthorization();
    }

    private static async Task<IResult> SendAsync(
        HttpContext context, string accountId, IGrainFactory grains, MessageSender sender, IOptions<MessagingOptions> options, SenderLimits senderLimits)
    {
        var device = context.Device();
        if (!AccountIds.IsValid(accountId))
        {
            throw ApiException.InvalidField("accountId", "must be an E.164 number");
        }

        if (senderLimits.TrySend(device.Address, accountId) is { } refusal)
        {
            return refusal.ToResult(context);
        }

        var limits = options.Value;
        // Room for one copy per device of a full account, base64-encoded, plus the JSON around them.
        JsonBody.LimitBody(context, (long)limits.MaxContentBytes * 4 / 3 * 8 + 64 * 1024);
        var body = await JsonBody.ReadAsync(context, ProtocolJson.Default.SendMessagesRequest);
        var request = new SendRequest
        {
            Sender = device.Address,
            SenderIncarnation = device.Credential.Incarnation,
            SenderDeviceCount = device.Credential.AccountDeviceCount,
            Destination = accountId,
            Messages = ValidateMessages(body.Messages, limits.MaxContentBytes),
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
            : await grains.GetGrain<IOutboxGrain>(device.Address.GrainKey).SendAsync(request);

        return result.Status switch
        {
            SendStatus.Sent => Results.Json(new SendMessagesResponse(result.NeedsSync), ProtocolJson.Default.SendMessagesResponse),
            SendStatus.UnknownAccount => throw ApiException.NotFound("account"),
            SendStatus.MismatchedDevices => DeviceMismatch.Mismatched(
                "the messages do not cover exactly the destination's current devices", result.MissingDevices, result.ExtraDevices),
            _ => DeviceMismatch.Stale(result.StaleDevices),
        };
    }

    private static List<OutgoingMessage> ValidateMessages(List<OutgoingMessageDto?>? messages, int maxContentBytes) =>
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
                throw new ApiException(StatusCodes.Status413PayloadTooLarge, "content_too_large", $"{field}.content: over {maxContentBytes} bytes", $"{field}.content");
            }

            return new OutgoingMessage(deviceId, registrationId, type, content);
        });

    private static async Task FetchAsync(HttpContext context, IGrainFactory grains)
    {
        var page = await grains.GetGrain<IDeviceGrain>(context.Device().Address.GrainKey).FetchAsync(FetchPageSize);
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteStartArray("envelopes"u8);
        foreach (var envelope in page.Envelopes)
        {
            writer.WriteRawValue(envelope, skipInputValidation: true);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("more"u8, page.More);
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    private static async Task<IResult> AckAsync(HttpContext context, string id, IGrainFactory grains)
    {
        if (!Guid.TryParse(id, out var envelopeId))
        {
            throw ApiException.InvalidField("id", "must be an envelope id (a UUID)");
        }

        await grains.GetGrain<IDeviceGrain>(context.Device().Address.GrainKey).AckAsync([envelopeId]);
        return Results.NoContent();
    }
}
