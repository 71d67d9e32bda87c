using Cluster.Abstractions.Calls;

namespace Cluster.Grains.Calls;

[GenerateSerializer, Alias("CallStage")]
internal enum CallStage
{
    /// <summary>No such call: never started, or forgotten after its retention.</summary>
    None,
    Ringing,
    Answered,
    Ended,
}

[GenerateSerializer, Alias("CallEndReason")]
internal enum CallEndReason
{
    None,
    Rejected,
    Hangup,
    Timeout,
}

[GenerateSerializer, Alias("CallState")]
internal sealed class CallState
{
    [Id(0)] public CallStage Stage { get; set; }

    [Id(1)] public string CallerAccount { get; set; } = "";

    [Id(2)] public int CallerDevice { get; set; }

    [Id(3)] public string CalleeAccount { get; set; } = "";

    /// <summary>The callee devices the offer was addressed to (the account's whole device set then), ascending.</summary>
    [Id(4)] public int[] RungDevices { get; set; } = [];

    /// <summary>Rung devices that had no socket attached when the offer went out: they get a missed-call notice on timeout.</summary>
    [Id(5)] public int[] OfflineDevices { get; set; } = [];

    [Id(6)] public long OfferedAt { get; set; }

    /// <summary>When ringing ends with <c>timeout</c> (Unix ms, on the product clock); persisted so a reactivation honours it.</summary>
    [Id(7)] public long RingDeadline { get; set; }

    /// <summary>The device that answered; 0 until one does.</summary>
    [Id(8)] public int AnsweredBy { get; set; }

    [Id(9)] public long AnsweredAt { get; set; }

    [Id(10)] public CallEndReason EndReason { get; set; }

    [Id(11)] public long EndedAt { get; set; }

    /// <summary>Each rung device's sealed offer, kept while ringing only (for <c>GET /v1/calls/{callId}</c>); emptied when the call is answered or ends.</summary>
    [Id(12)] public CallOfferCopy[] Offers { get; set; } = [];
}
