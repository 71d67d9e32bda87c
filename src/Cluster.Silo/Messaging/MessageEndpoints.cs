using System.Text.Json;
using Cluster.Abstractions.Devices;
using Cluster.Grains;
using Cluster.Silo.Authentication;
using Cluster.Silo.Devices;
using Cluster.Silo.OpenApi;
using Cluster.Silo.Protocol;

namespace Cluster.Silo.Messaging;

/// <summary>
/// <c>PUT /v1/messages/{accountId}</c> (send), <c>GET /v1/messages</c> (fetch) and <c>DELETE /v1/messages/{id}</c> (ack).
/// Owns no state: a send is <see cref="MessageSends"/>'s (the path the device socket's send requests take too), read
/// from the HTTP body. Envelopes live in the device grain's inbox, not here.
/// </summary>
internal static class MessageEndpoints
{
    private const int FetchPageSize = 100;

    public static void Map(IEndpointRouteBuilder v1)
    {
        v1.MapPut("/messages/{accountId}", SendAsync).Operation("sendMessages", "Messages", "Send one message as a copy per device of the recipient (and the sender's other devices)").Accepts<SendMessagesRequest>().Returns<SendMessagesResponse>().Error<MismatchedDevicesError>(409).Error<StaleDevicesError>(410).Errors(400, 404, 413, 429).RequireAuthorization();
        v1.MapGet("/messages", FetchAsync).Operation("fetchMessages", "Messages", "Fetch queued envelopes of this device").Returns<MessagePageResponse>().Errors().RequireAuthorization();
        v1.MapDelete("/messages/{id}", AckAsync).Operation("ackMessage", "Messages", "Acknowledge (delete) one envelope").ReturnsNothing().Errors(400, 404).RequireAuthorization();
    }

    private static async Task<IResult> SendAsync(HttpContext context, string accountId, MessageSends sends)
    {
        var device = context.Device();
        if (sends.Admit(device.Address, accountId) is { } refusal)
        {
            return refusal.ToResult(context);
        }

        JsonBody.LimitBody(context, sends.MaxBodyBytes);
        var body = await JsonBody.ReadAsync(context, ProtocolJson.Default.SendMessagesRequest);
        return (await sends.SendAsync(device.Address, device.Credential, accountId, body)).ToResult();
    }

    private static async Task FetchAsync(HttpContext context, IGrainFactory grains)
    {
        var page = await grains.Get<IDeviceGrain>(context.Device().Address.GrainKey).FetchAsync(FetchPageSize);
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

        await grains.Get<IDeviceGrain>(context.Device().Address.GrainKey).AckAsync([envelopeId]);
        return Results.NoContent();
    }
}
