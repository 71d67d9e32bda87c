using Cluster.Abstractions.Push;

namespace Cluster.Silo.Push;

/// <summary>What a push service made of one request.</summary>
internal enum PushOutcome
{
    /// <summary>Accepted (2xx).</summary>
    Sent,

    /// <summary>404/410: the subscription is gone and is removed.</summary>
    Gone,

    /// <summary>Timeout, connection failure, 429 or 5xx: worth another attempt.</summary>
    Transient,

    /// <summary>Any other answer: given up.</summary>
    Failed,

    /// <summary>The endpoint resolved only to refused addresses (<see cref="PushAddressPolicy"/>).</summary>
    Blocked,
}

/// <summary>One push service kind (Web Push now; FCM and APNs plug in here): sends one content-free wake-up.</summary>
internal interface IPushSender
{
    PushKind Kind { get; }

    Task<PushOutcome> SendAsync(PushRequest request, CancellationToken cancellationToken);
}
