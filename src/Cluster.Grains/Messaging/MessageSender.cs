using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
using Cluster.Grains.Observability;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Grains.Messaging;

/// <summary>
/// Checks a send against the destination's current devices (held in memory by its account grain) and fans it out:
/// one enqueue per destination device, in parallel, answered once every envelope is durable.
/// </summary>
public sealed class MessageSender(IGrainFactory grains, [FromKeyedServices(ClusterClock.Key)] TimeProvider time)
{
    public async Task<SendResult> SendAsync(SendRequest request)
    {
        var devices = await grains.Get<IAccountGrain>(request.Destination).GetDeviceSetForAsync(request.Sender.AccountId);
        if (!devices.Exists)
        {
            return new SendResult { Status = SendStatus.UnknownAccount };
        }

        var ownAccount = request.Destination == request.Sender.AccountId;
        if (Check(request, devices) is { } refusal)
        {
            return refusal;
        }

        ClusterMetrics.MessagesReceived.Add(1);
        ClusterMetrics.FanoutWidth.Record(request.Messages.Count);
        var serverTimestamp = time.GetUtcNow().ToUnixTimeMilliseconds();
        var deliveries = new Task[request.Messages.Count];
        for (var i = 0; i < deliveries.Length; i++)
        {
            var message = request.Messages[i];
            var id = request.ClientMessageId is { } clientMessageId
                ? IdempotentEnvelopeId(request.IdempotencyScope, request.Destination, clientMessageId, message.DeviceId)
                : Guid.CreateVersion7(time.GetUtcNow());
            var json = EnvelopeJson.Write(
                id, message.Type, request.Sender.AccountId, request.Sender.DeviceId, message.DeviceId, request.Timestamp, serverTimestamp, message.Content, request.Urgent);
            var device = grains.Get<IDeviceGrain>(new DeviceAddress(request.Destination, message.DeviceId).GrainKey);
            deliveries[i] = request.Online
                ? device.DeliverEphemeralAsync(json)
                : device.EnqueueAsync([new InboxEnvelope(id, serverTimestamp, json, request.WakeNow)]);
        }

        await Task.WhenAll(deliveries);
        return new SendResult { Status = SendStatus.Sent, NeedsSync = !ownAccount && request.SenderDeviceCount > 1 };
    }

    /// <summary>The 409/410 checks of the protocol; null when the send covers exactly the right devices.</summary>
    private static SendResult? Check(SendRequest request, DeviceSet devices) =>
        DeviceCoverage.Check(devices, request.Sender, request.Destination, request.Messages, static m => (m.DeviceId, m.RegistrationId)) switch
        {
            null => null,
            { IsMismatch: true } mismatch => new SendResult
            {
                Status = SendStatus.MismatchedDevices, MissingDevices = mismatch.MissingDevices, ExtraDevices = mismatch.ExtraDevices,
            },
            var stale => new SendResult { Status = SendStatus.StaleDevices, StaleDevices = stale.StaleDevices },
        };

    /// <summary>
    /// The same (sender device and incarnation, destination, client message id, destination device) always gives the same envelope id,
    /// so a retry that slips past the outbox's memory (a silo lost between storing and answering) finds its envelopes
    /// already stored and stores nothing twice.
    /// </summary>
    internal static Guid IdempotentEnvelopeId(string scope, string destination, string clientMessageId, int deviceId)
    {
        Span<byte> hash = stackalloc byte[32];
        var input = Encoding.UTF8.GetBytes($"{scope}\n{destination}\n{clientMessageId}\n");
        var withDevice = new byte[input.Length + sizeof(int)];
        input.CopyTo(withDevice, 0);
        BinaryPrimitives.WriteInt32BigEndian(withDevice.AsSpan(input.Length), deviceId);
        SHA256.HashData(withDevice, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8: custom
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash[..16], bigEndian: true);
    }
}
