using System.Diagnostics;
using System.Globalization;
using Cluster.Client;
using Cluster.Client.Messaging;
using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.Latency;

namespace Cluster.LoadTest.Fanout;

internal enum SendOutcome
{
    Sent,
    SentNeedsSync,
    NothingToSend,
    Failed,
}

/// <summary>
/// One send as a real client makes it (over the device's socket, or <c>PUT /v1/messages</c> with <c>--send-over http</c>):
/// one copy per device of the destination, retried with the same
/// <c>clientMessageId</c> on a 5xx or no answer (on the next target), and sent again to the current device set after a
/// 409/410. Every attempt is bounded.
/// </summary>
internal sealed class MessageSender(RunContext context, Accountant accountant, DeviceDirectory directory)
{
    private const int MaxAttempts = 6;

    public async Task<SendOutcome> PutAsync(
        SimDevice from, SimAccount to, TrackedMessage message, byte[] content, CopyKind kind, long intendedStart, CancellationToken cancellationToken)
    {
        var exclude = to == from.Account ? from.DeviceId : 0;
        var targets = directory.Get(to, exclude);
        var clientMessageId = string.Create(CultureInfo.InvariantCulture, $"{accountant.RunTag:x16}-{message.Id}");
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var gateway = 0;
        for (var attempt = 1; ; attempt++)
        {
            if (targets.Count == 0)
            {
                return SendOutcome.NothingToSend;
            }

            var body = new OutgoingMessage
            {
                Messages = [.. targets.Select(t => new DeviceCopy(t.DeviceId, t.RegistrationId, 1, content))],
                Timestamp = timestamp,
                ClientMessageId = clientMessageId,
            };
            try
            {
                var result = await from.Client(context.Gateways, gateway).SendMessageAsync(to.AccountId, body, cancellationToken);
                if (message.Measured)
                {
                    context.Latencies.Record(Operations.Send, intendedStart, Stopwatch.GetTimestamp());
                }

                accountant.Sent(targets.Count);
                accountant.Acknowledged(message, [.. targets.Select(t => new DeviceKey(to.Index, t.DeviceId, t.RegistrationId))], kind);
                return result.NeedsSync ? SendOutcome.SentNeedsSync : SendOutcome.Sent;
            }
            catch (ClusterApiException ex) when (ex is MismatchedDevicesException or StaleDevicesException && attempt < MaxAttempts)
            {
                context.Status.Error(Failures.Kind("send", ex));
                try
                {
                    targets = await directory.RefreshAsync(from, to, exclude, cancellationToken);
                }
                catch (Exception refresh) when (Failures.IsRequestFailure(refresh, cancellationToken))
                {
                    context.Status.Error(Failures.Kind("devices", refresh));
                    accountant.Sent(targets.Count);
                    return SendOutcome.Failed;
                }
            }
            catch (Exception ex) when (attempt < MaxAttempts && Failures.IsTransient(ex, cancellationToken))
            {
                context.Status.Error(Failures.Kind("send", ex));
                gateway++;
                await Task.Delay(Failures.Backoff(attempt), cancellationToken);
            }
            catch (Exception ex) when (Failures.IsRequestFailure(ex, cancellationToken))
            {
                context.Status.Error(Failures.Kind("send", ex));
                accountant.Sent(targets.Count);
                return SendOutcome.Failed;
            }
        }
    }
}
