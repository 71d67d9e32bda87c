using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Number verification (VerificationGrain, the verification endpoints and senders).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Verification codes made.</summary>
    public static readonly Counter<long> VerificationCodes = Meter.CreateCounter<long>("cluster_verification_codes_total", description: "Verification codes made");

    /// <summary>Code requests refused by a per-number limit (label <c>reason</c>).</summary>
    public static readonly Counter<long> VerificationRefused = Meter.CreateCounter<long>("cluster_verification_refused_total", description: "Verification code requests refused by a per-number limit");

    /// <summary>Code checks by outcome (label <c>outcome</c>: verified, wrong, no_code, throttled; reinstated: a verified code given back because its registration did not happen, see IVerificationGrain.ReinstateAsync).</summary>
    public static readonly Counter<long> VerificationChecks = Meter.CreateCounter<long>("cluster_verification_checks_total", description: "Verification code checks by outcome");

    /// <summary>Codes the sender failed to deliver (label <c>sender</c>).</summary>
    public static readonly Counter<long> VerificationSendFailures = Meter.CreateCounter<long>("cluster_verification_send_failures_total", description: "Verification codes a sender failed to deliver");
}
