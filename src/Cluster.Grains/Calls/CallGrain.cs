using System.Security.Cryptography;
using System.Text;
using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Calls;
using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
using Cluster.Abstractions.Push;
using Cluster.Grains.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cluster.Grains.Calls;

/// <summary>
/// One call's state machine (see <see cref="ICallGrain"/>). Not reentrant: each request runs its whole transition
/// (check, persist, notify) before the next one starts, which makes "the first answer wins" a plain <c>if</c> and keeps
/// state writes in order. Every transition is persisted before anyone is told of it, except the offer itself, which is
/// persisted just after ringing because it records which devices were connected. The ring deadline is kept twice:
/// an in-memory timer on the product clock ends the call on time, and a durable reminder (fired by whichever silo owns
/// it) reactivates a call whose silo died, so that no call rings forever; the same reminder forgets an ended call after
/// <see cref="CallOptions.EndedRetention"/>. While ringing the state also holds each rung device's sealed offer (at
/// most one per device of the callee, each at most <see cref="CallOptions.MaxPayloadBytes"/>), so a device woken by a
/// call push can fetch its own (<see cref="GetOfferAsync"/>); an answer or the end empties it.
/// </summary>
internal sealed partial class CallGrain(
    [PersistentState("call", GrainStorage.Name)] IPersistentState<CallState> state,
    IOptions<CallOptions> options,
    IOptions<ReminderOptions> reminderOptions,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<CallGrain> logger) : Grain, ICallGrain, IRemindable
{
    private const string ReminderName = "call";

    private ITimer? ringTimer;
    private bool countedAsRinging;

    private enum Role
    {
        Outsider,
        Caller,
        Callee,
    }

    private CallState Call => state.State;

    private string CallId => this.GetPrimaryKeyString();

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    private DeviceAddress CallerAddress => new(Call.CallerAccount, Call.CallerDevice);

    /// <summary>The reminder's period: a minute, or Orleans' minimum if larger. A tick missed while no silo owned it comes a period later.</summary>
    private TimeSpan ReminderPeriod => reminderOptions.Value.MinimumReminderPeriod > TimeSpan.FromMinutes(1)
        ? reminderOptions.Value.MinimumReminderPeriod
        : TimeSpan.FromMinutes(1);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Call.Stage == CallStage.Ringing)
        {
            // Reactivated mid-ring (the previous silo died or the activation was collected): honour the persisted deadline.
            EnterRinging();
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        LeaveRinging();
        return Task.CompletedTask;
    }

    public async Task<StartCallResult> StartAsync(StartCall request)
    {
        if (Call.Stage != CallStage.None)
        {
            throw new InvalidOperationException("this call id is in use; every call needs a fresh one");
        }

        var devices = await GrainFactory.GetGrain<IAccountGrain>(request.Callee).GetDeviceSetAsync();
        if (!devices.Exists)
        {
            DeactivateOnIdle();
            return new StartCallResult { Status = StartCallStatus.UnknownAccount };
        }

        var mismatch = DeviceCoverage.Check(devices, request.Caller, request.Callee, request.Offers, static o => (o.DeviceId, o.RegistrationId));
        if (mismatch is not null || request.Offers.Count == 0)
        {
            DeactivateOnIdle();
            return mismatch is { IsMismatch: false }
                ? new StartCallResult { Status = StartCallStatus.StaleDevices, StaleDevices = mismatch.StaleDevices }
                : new StartCallResult { Status = StartCallStatus.MismatchedDevices, MissingDevices = mismatch?.MissingDevices ?? [], ExtraDevices = mismatch?.ExtraDevices ?? [] };
        }

        var now = Now;
        var rung = new int[request.Offers.Count];
        var rings = new Task<bool>[rung.Length];
        for (var i = 0; i < rings.Length; i++)
        {
            var offer = request.Offers[i];
            rung[i] = offer.DeviceId;
            rings[i] = Device(request.Callee, offer.DeviceId)
                .TryPublishEventAsync(EventJson.CallOffer(CallId, request.Caller.AccountId, request.Caller.DeviceId, offer.Payload));
        }

        state.State = new CallState
        {
            Stage = CallStage.Ringing,
            CallerAccount = request.Caller.AccountId,
            CallerDevice = request.Caller.DeviceId,
            CalleeAccount = request.Callee,
            RungDevices = rung,
            OfferedAt = now,
            RingDeadline = now + (long)options.Value.RingTimeout.TotalMilliseconds,
            Offers = [.. request.Offers],
        };
        try
        {
            var connected = await Task.WhenAll(rings);
            var offline = new List<int>();
            for (var i = 0; i < connected.Length; i++)
            {
                if (!connected[i])
                {
                    offline.Add(rung[i]);
                }
            }

            Call.OfflineDevices = [.. offline];
            Array.Sort(Call.RungDevices);
            Array.Sort(Call.OfflineDevices);
            // The reminder first: a reminder without state cleans itself up, state without a reminder could ring forever.
            await this.RegisterOrUpdateReminder(ReminderName, options.Value.RingTimeout, ReminderPeriod);
            await state.WriteStateAsync();
        }
        catch
        {
            // Devices may have rung for a call the server could not record: tell them it is over rather than leave them
            // ringing for a call id that will answer 404.
            var rungDevices = Participants();
            state.State = new CallState();
            DeactivateOnIdle();
            await NotifyAsync(rungDevices, EventJson.CallEnded(CallId, ReasonName(CallEndReason.Hangup)));
            throw;
        }

        EnterRinging();
        await PushCallAsync(Call.OfflineDevices, ended: false);
        CallMetrics.Offers.Add(1);
        return new StartCallResult { Status = StartCallStatus.Ringing };
    }

    public async Task<CallActionStatus> AnswerAsync(DeviceAddress device, byte[] payload)
    {
        if (await RefuseUnlessRingingCalleeAsync(device) is { } refusal)
        {
            return refusal;
        }

        Call.Stage = CallStage.Answered;
        Call.Offers = [];
        Call.AnsweredBy = device.DeviceId;
        Call.AnsweredAt = Now;
        await PersistAsync();
        LeaveRinging();
        CallMetrics.Answers.Add(1);
        CallMetrics.SetupTime.Record(Math.Max(0, Call.AnsweredAt - Call.OfferedAt) / 1000.0);

        var notices = new List<(DeviceAddress, byte[])>(Call.RungDevices.Length)
        {
            (CallerAddress, EventJson.CallAnswered(CallId, device.DeviceId, payload)),
        };
        var elsewhere = EventJson.CallAnsweredElsewhere(CallId);
        var stillLinked = await RungDevicesStillLinkedAsync();
        foreach (var deviceId in Call.RungDevices)
        {
            if (deviceId != device.DeviceId && stillLinked.Contains(deviceId))
            {
                notices.Add((new DeviceAddress(Call.CalleeAccount, deviceId), elsewhere));
            }
        }

        await NotifyAsync(notices);
        await PushCallAsync(Array.FindAll(Call.OfflineDevices, d => d != device.DeviceId && stillLinked.Contains(d)), ended: true);
        return CallActionStatus.Done;
    }

    public async Task<CallOfferLookup> GetOfferAsync(DeviceAddress device)
    {
        if (await RefuseUnlessRingingCalleeAsync(device) is { } refusal)
        {
            return new CallOfferLookup { Status = refusal };
        }

        var offer = Array.Find(Call.Offers, o => o.DeviceId == device.DeviceId);
        return offer is null
            ? new CallOfferLookup { Status = CallActionStatus.Forbidden }
            : new CallOfferLookup
            {
                Status = CallActionStatus.Done,
                From = Call.CallerAccount,
                FromDevice = Call.CallerDevice,
                Payload = offer.Payload,
                RingsUntil = Call.RingDeadline,
            };
    }

    public async Task<CallActionStatus> RejectAsync(DeviceAddress device)
    {
        if (await RefuseUnlessRingingCalleeAsync(device) is { } refusal)
        {
            return refusal;
        }

        await EndAsync(CallEndReason.Rejected);
        return CallActionStatus.Done;
    }

    public async Task<CallActionStatus> HangupAsync(DeviceAddress device)
    {
        await EndIfOverdueAsync();
        var role = await RoleOfAsync(device);
        if (Refusal(role) is { } refusal)
        {
            return refusal;
        }

        if (Call.Stage == CallStage.Answered && role == Role.Callee && device.DeviceId != Call.AnsweredBy)
        {
            // Answered elsewhere: this device left the call when another one answered.
            return CallActionStatus.Forbidden;
        }

        await EndAsync(CallEndReason.Hangup);
        return CallActionStatus.Done;
    }

    public async Task<CallActionStatus> RelayIceAsync(DeviceAddress device, byte[] payload)
    {
        await EndIfOverdueAsync();
        var role = await RoleOfAsync(device);
        if (Refusal(role) is { } refusal)
        {
            return refusal;
        }

        if (Call.Stage == CallStage.Ringing)
        {
            return role == Role.Caller ? CallActionStatus.NotAnswered : CallActionStatus.Forbidden;
        }

        DeviceAddress target;
        if (role == Role.Caller)
        {
            target = new DeviceAddress(Call.CalleeAccount, Call.AnsweredBy);
        }
        else if (device.DeviceId == Call.AnsweredBy)
        {
            target = CallerAddress;
        }
        else
        {
            return CallActionStatus.Forbidden;
        }

        await NotifyAsync([(target, EventJson.CallIce(CallId, payload))]);
        return CallActionStatus.Done;
    }

    public async Task CheckDeadlineAsync()
    {
        if (Call.Stage != CallStage.Ringing)
        {
            return;
        }

        if (Now >= Call.RingDeadline)
        {
            await EndAsync(CallEndReason.Timeout);
        }
        else
        {
            ArmRingTimer();
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        switch (Call.Stage)
        {
            case CallStage.Ringing:
                await CheckDeadlineAsync();
                break;
            case CallStage.Ended when Now >= Call.EndedAt + (long)options.Value.EndedRetention.TotalMilliseconds:
                await state.ClearStateAsync();
                state.State = new CallState();
                await UnregisterReminderAsync();
                DeactivateOnIdle();
                break;
            case CallStage.None:
                // A reminder whose call was never recorded (its start failed after registering it).
                await UnregisterReminderAsync();
                DeactivateOnIdle();
                break;
        }
    }

    private async Task<Role> RoleOfAsync(DeviceAddress device)
    {
        if (device.AccountId == Call.CallerAccount && device.DeviceId == Call.CallerDevice)
        {
            return Role.Caller;
        }

        return device.AccountId == Call.CalleeAccount && Array.BinarySearch(Call.RungDevices, device.DeviceId) >= 0
            && (await RungDevicesStillLinkedAsync()).Contains(device.DeviceId)
            ? Role.Callee
            : Role.Outsider;
    }

    /// <summary>
    /// The rung devices that are still the devices the call rang. A removed device's id can be given to a later companion,
    /// which was never in the call: a rung id that no device holds any more, or whose device was linked after the offer,
    /// is out of it (no role, no events, no missed-call notice).
    /// </summary>
    private async Task<HashSet<int>> RungDevicesStillLinkedAsync()
    {
        var devices = await GrainFactory.GetGrain<IAccountGrain>(Call.CalleeAccount).GetDevicesAsync();
        var still = new HashSet<int>();
        foreach (var device in devices)
        {
            if (device.LinkedAt <= Call.OfferedAt && Array.BinarySearch(Call.RungDevices, device.DeviceId) >= 0)
            {
                still.Add(device.DeviceId);
            }
        }

        return still;
    }

    /// <summary>The refusals every action shares, in order: unknown call (404), not in the call (403), ended (409).</summary>
    /// <summary>Why <paramref name="device"/> may not answer or reject (the call is gone, it is not a callee, or the call rings no more), or null when it may.</summary>
    private async Task<CallActionStatus?> RefuseUnlessRingingCalleeAsync(DeviceAddress device)
    {
        await EndIfOverdueAsync();
        var role = await RoleOfAsync(device);
        if (Refusal(role) is { } refusal)
        {
            return refusal;
        }

        if (role != Role.Callee)
        {
            return CallActionStatus.Forbidden;
        }

        return Call.Stage != CallStage.Ringing ? CallActionStatus.NotRinging : null;
    }

    private CallActionStatus? Refusal(Role role) => Call.Stage switch
    {
        CallStage.None => CallActionStatus.NotFound,
        _ when role == Role.Outsider => CallActionStatus.Forbidden,
        CallStage.Ended => CallActionStatus.Ended,
        _ => null,
    };

    /// <summary>
    /// Every device still in the call: the caller device, and every rung device while ringing or the answering one after;
    /// of the callee devices, only those in <paramref name="stillLinked"/> when it is given.
    /// </summary>
    private List<DeviceAddress> Participants(HashSet<int>? stillLinked = null)
    {
        var devices = new List<DeviceAddress>(Call.RungDevices.Length + 1) { CallerAddress };
        foreach (var deviceId in Call.Stage == CallStage.Answered ? [Call.AnsweredBy] : Call.RungDevices)
        {
            if (stillLinked?.Contains(deviceId) ?? true)
            {
                devices.Add(new DeviceAddress(Call.CalleeAccount, deviceId));
            }
        }

        return devices;
    }

    /// <summary>A request can arrive before the ring timer's own call does: a call past its deadline is over for it too.</summary>
    private async Task EndIfOverdueAsync()
    {
        if (Call.Stage == CallStage.Ringing && Now >= Call.RingDeadline)
        {
            await EndAsync(CallEndReason.Timeout);
        }
    }

    private async Task EndAsync(CallEndReason reason)
    {
        var stillLinked = await RungDevicesStillLinkedAsync();
        var recipients = Participants(stillLinked);
        var answered = Call.Stage == CallStage.Answered;
        var offline = Array.FindAll(Call.OfflineDevices, stillLinked.Contains);
        var wasRinging = Call.Stage == CallStage.Ringing;
        Call.Stage = CallStage.Ended;
        Call.Offers = [];
        Call.EndReason = reason;
        Call.EndedAt = Now;
        if (reason == CallEndReason.Timeout && offline.Length > 0)
        {
            // Before the state write: if the silo dies in between, the reactivated call times out again, and the
            // notices, having the same ids, are not stored a second time while the first copies are queued.
            try
            {
                await StoreMissedCallNoticesAsync(offline);
            }
            catch
            {
                DeactivateOnIdle();
                throw;
            }
        }

        await PersistAsync();
        LeaveRinging();
        CallMetrics.Ended.Add(1, new KeyValuePair<string, object?>("reason", ReasonName(reason)), new KeyValuePair<string, object?>("answered", answered ? "true" : "false"));
        await NotifyAsync(recipients, EventJson.CallEnded(CallId, ReasonName(reason)));
        if (wasRinging)
        {
            await PushCallAsync(offline, ended: true);
        }

        try
        {
            await this.RegisterOrUpdateReminder(ReminderName, options.Value.EndedRetention, ReminderPeriod);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            // The ringing reminder keeps ticking instead, and its tick does the same clean-up.
            LogReminderUpdateFailed(logger, ex, CallId);
        }
    }

    private Task StoreMissedCallNoticesAsync(int[] deviceIds)
    {
        var now = Now;
        var content = EnvelopeJson.MissedCallNotice(CallId, Call.OfferedAt);
        var stores = new Task[deviceIds.Length];
        for (var i = 0; i < stores.Length; i++)
        {
            var id = NoticeId(CallId, deviceIds[i]);
            var json = EnvelopeJson.Write(
                id, EnvelopeJson.ServerNoticeType, Call.CallerAccount, Call.CallerDevice, deviceIds[i], Call.OfferedAt, now, content, urgent: true);
            stores[i] = Device(Call.CalleeAccount, deviceIds[i]).EnqueueAsync([new InboxEnvelope(id, now, json)]);
        }

        return Task.WhenAll(stores);
    }

    /// <summary>Writes the state; a failed write leaves memory ahead of storage, so the activation is dropped and reloads.</summary>
    private async Task PersistAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private void EnterRinging()
    {
        if (!countedAsRinging)
        {
            countedAsRinging = true;
            CallMetrics.Ringing.Add(1);
        }

        ArmRingTimer();
    }

    private void LeaveRinging()
    {
        ringTimer?.Dispose();
        ringTimer = null;
        if (countedAsRinging)
        {
            countedAsRinging = false;
            CallMetrics.Ringing.Add(-1);
        }
    }

    /// <summary>
    /// Fires at the deadline on the product clock and asks this grain, as an ordinary request, to check it: the check
    /// then runs in turn with answers instead of between their steps.
    /// </summary>
    private void ArmRingTimer()
    {
        ringTimer?.Dispose();
        var due = TimeSpan.FromMilliseconds(Math.Max(0, Call.RingDeadline - Now));
        var trigger = new DeadlineTrigger(this.AsReference<ICallGrain>(), logger, CallId);
        ringTimer = ProductTimers.Once(time, static s => ((DeadlineTrigger)s!).Fire(), trigger, due);
    }

    private async Task UnregisterReminderAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private Task NotifyAsync(List<DeviceAddress> devices, byte[] eventJson)
    {
        var notices = new List<(DeviceAddress, byte[])>(devices.Count);
        foreach (var device in devices)
        {
            notices.Add((device, eventJson));
        }

        return NotifyAsync(notices);
    }

    /// <summary>Live events, best effort: a device that is not connected does not get them, and a failed push is logged, not thrown.</summary>
    private async Task NotifyAsync(List<(DeviceAddress Device, byte[] Event)> notices)
    {
        var pushes = new Task[notices.Count];
        for (var i = 0; i < pushes.Length; i++)
        {
            pushes[i] = Device(notices[i].Device).PublishEventAsync(notices[i].Event);
        }

        try
        {
            await Task.WhenAll(pushes);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            LogNotifyFailed(logger, ex, CallId);
        }
    }

    /// <summary>
    /// Rings (or, with <paramref name="ended"/>, stops ringing) callee devices the offer did not reach live, through
    /// their push subscriptions (the device grain decides; the push carries only the call id). Best effort, like events.
    /// </summary>
    private async Task PushCallAsync(int[] deviceIds, bool ended)
    {
        var ringFor = TimeSpan.FromMilliseconds(Math.Max(0, Call.RingDeadline - Now));
        var pushes = new Task[deviceIds.Length];
        for (var i = 0; i < pushes.Length; i++)
        {
            pushes[i] = GrainFactory.GetGrain<IDevicePushGrain>(new DeviceAddress(Call.CalleeAccount, deviceIds[i]).GrainKey).PushCallAsync(CallId, ended ? options.Value.RingTimeout : ringFor, ended);
        }

        try
        {
            await Task.WhenAll(pushes);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            LogNotifyFailed(logger, ex, CallId);
        }
    }

    private IDeviceGrain Device(string accountId, int deviceId) => Device(new DeviceAddress(accountId, deviceId));

    private IDeviceGrain Device(DeviceAddress address) => GrainFactory.GetGrain<IDeviceGrain>(address.GrainKey);

    internal static string ReasonName(CallEndReason reason) => reason switch
    {
        CallEndReason.Rejected => "rejected",
        CallEndReason.Timeout => "timeout",
        _ => "hangup",
    };

    /// <summary>The same call and device always give the same notice id, so storing it twice stores it once.</summary>
    private static Guid NoticeId(string callId, int deviceId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"missedCall\n{callId}\n{deviceId}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8: custom
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash[..16], bigEndian: true);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pushing an event of call {CallId} to a device failed")]
    private static partial void LogNotifyFailed(ILogger logger, Exception ex, string callId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rescheduling the reminder of ended call {CallId} failed; its ringing reminder cleans up instead")]
    private static partial void LogReminderUpdateFailed(ILogger logger, Exception ex, string callId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking the ring deadline of call {CallId} failed; its reminder checks again")]
    private static partial void LogDeadlineCheckFailed(ILogger logger, Exception ex, string callId);

    /// <summary>What the ring timer runs, off the grain's scheduler: a call to the grain, whose failure is logged.</summary>
    private sealed class DeadlineTrigger(ICallGrain call, ILogger logger, string callId)
    {
        public void Fire() => call.CheckDeadlineAsync().ContinueWith(
            static (task, s) => ((DeadlineTrigger)s!).Failed(task.Exception!),
            this,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);

        private void Failed(Exception ex) => LogDeadlineCheckFailed(logger, ex, callId);
    }
}
