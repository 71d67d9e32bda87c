namespace Cluster.Abstractions.Calls;

/// <summary>
/// One call (key: its call id): ringing, then answered, then ended; or ended while ringing (rejected, hung up, timed
/// out). It holds who called, which callee devices it rang and which one answered, and decides every transition alone,
/// so the first answer wins without locks.
/// </summary>
[Alias("ICallGrain")]
public interface ICallGrain : IGrainWithStringKey
{
    /// <summary>
    /// Checks the offers against the callee's current devices and, when they match, rings every connected callee device
    /// with its own offer. A fresh call id only: the gateway makes one per request.
    /// </summary>
    [Alias("Start")]
    Task<StartCallResult> StartAsync(StartCall request);

    /// <summary>Answers for <paramref name="device"/>: the first answering callee device wins; the caller device gets its payload.</summary>
    [Alias("Answer")]
    Task<CallActionStatus> AnswerAsync(DeviceAddress device, byte[] payload);

    /// <summary>A ringing callee device declines: the call ends for every device with reason <c>rejected</c>.</summary>
    [Alias("Reject")]
    Task<CallActionStatus> RejectAsync(DeviceAddress device);

    /// <summary>The caller device, a ringing callee device, or (once answered) the answering device ends the call.</summary>
    [Alias("Hangup")]
    Task<CallActionStatus> HangupAsync(DeviceAddress device);

    /// <summary>Relays an ICE payload between the caller device and the answering device.</summary>
    [Alias("RelayIce")]
    Task<CallActionStatus> RelayIceAsync(DeviceAddress device, byte[] payload);

    /// <summary>
    /// A rung callee device fetches its own offer while the call rings (a device woken by a call push connects after
    /// the live <c>callOffer</c> event went out); refused like an answer otherwise.
    /// </summary>
    [Alias("GetOffer")]
    Task<CallOfferLookup> GetOfferAsync(DeviceAddress device);

    /// <summary>Ends the call with <c>timeout</c> if it is still ringing past its deadline; otherwise does nothing.</summary>
    [Alias("CheckDeadline")]
    Task CheckDeadlineAsync();
}
