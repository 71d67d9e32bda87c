namespace Cluster.Abstractions.Calls;

/// <summary>The offer for one callee device: the caller sealed a fresh SRTP master secret in it for that device alone.</summary>
/// <param name="DeviceId">The callee device.</param>
/// <param name="RegistrationId">The registration id the caller believes the device has (410 when stale).</param>
/// <param name="Payload">The sealed offer, opaque to the server; never mutated.</param>
[GenerateSerializer, Immutable, Alias("CallOfferCopy")]
public sealed record CallOfferCopy(
    [property: Id(0)] int DeviceId,
    [property: Id(1)] int RegistrationId,
    [property: Id(2)] byte[] Payload);

/// <summary>A call of <c>POST /v1/calls</c>, already validated for shape by the gateway.</summary>
[GenerateSerializer, Immutable, Alias("StartCall")]
public sealed record StartCall
{
    /// <summary>The calling device.</summary>
    [Id(0)] public required DeviceAddress Caller { get; init; }

    /// <summary>The callee account.</summary>
    [Id(1)] public required string Callee { get; init; }

    /// <summary>One offer per callee device, each device named once.</summary>
    [Id(2)] public required IReadOnlyList<CallOfferCopy> Offers { get; init; }
}

/// <summary>The outcome of <see cref="ICallGrain.StartAsync"/>.</summary>
public enum StartCallStatus
{
    /// <summary>The call rings every callee device that is connected.</summary>
    Ringing,

    /// <summary>The callee account does not exist (404).</summary>
    UnknownAccount,

    /// <summary>The offers do not name exactly the callee's current devices (409).</summary>
    MismatchedDevices,

    /// <summary>A registration id is not the device's current one (410).</summary>
    StaleDevices,
}

/// <summary>The answer to <see cref="ICallGrain.StartAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("StartCallResult")]
public sealed record StartCallResult
{
    /// <summary>The outcome.</summary>
    [Id(0)] public required StartCallStatus Status { get; init; }

    /// <summary>With <see cref="StartCallStatus.MismatchedDevices"/>: devices the caller left out, ascending.</summary>
    [Id(1)] public IReadOnlyList<int> MissingDevices { get; init; } = [];

    /// <summary>With <see cref="StartCallStatus.MismatchedDevices"/>: devices named that do not exist, ascending.</summary>
    [Id(2)] public IReadOnlyList<int> ExtraDevices { get; init; } = [];

    /// <summary>With <see cref="StartCallStatus.StaleDevices"/>: devices whose registration id is stale, ascending.</summary>
    [Id(3)] public IReadOnlyList<int> StaleDevices { get; init; } = [];
}

/// <summary>The outcome of an action on a call (answer, reject, hang up, ICE).</summary>
public enum CallActionStatus
{
    /// <summary>Done.</summary>
    Done,

    /// <summary>No such call (never started, or ended long enough ago to be forgotten): 404.</summary>
    NotFound,

    /// <summary>The device is not in the call, or not in the role the action needs: 403.</summary>
    Forbidden,

    /// <summary>The call has ended: 409 <c>call_ended</c>.</summary>
    Ended,

    /// <summary>The call is no longer ringing (another device answered): 409 <c>call_not_ringing</c>.</summary>
    NotRinging,

    /// <summary>ICE before anyone answered: there is no other party's device yet: 409 <c>call_not_answered</c>.</summary>
    NotAnswered,
}

/// <summary>The answer to <see cref="ICallGrain.GetOfferAsync"/>: with <see cref="CallActionStatus.Done"/>, the device's own offer.</summary>
[GenerateSerializer, Immutable, Alias("CallOfferLookup")]
public sealed record CallOfferLookup
{
    /// <summary>The outcome, with the same refusals as an answer (404, 403, 409 ended or not ringing).</summary>
    [Id(0)] public required CallActionStatus Status { get; init; }

    /// <summary>The caller account.</summary>
    [Id(1)] public string From { get; init; } = "";

    /// <summary>The calling device.</summary>
    [Id(2)] public int FromDevice { get; init; }

    /// <summary>The sealed offer for this device, as the caller sent it.</summary>
    [Id(3)] public byte[] Payload { get; init; } = [];

    /// <summary>When the call stops ringing (Unix ms).</summary>
    [Id(4)] public long RingsUntil { get; init; }
}
