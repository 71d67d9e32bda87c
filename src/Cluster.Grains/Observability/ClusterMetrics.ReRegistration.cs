using System.Diagnostics.Metrics;

namespace Cluster.Grains.Observability;

/// <summary>Re-registration on a new phone and the registration lock (AccountGrain's lifecycle partials, the registration endpoint).</summary>
public static partial class ClusterMetrics
{
    /// <summary>Re-registrations that replaced an account's primary.</summary>
    public static readonly Counter<long> ReRegistrations = Meter.CreateCounter<long>("cluster_reregistrations_total", description: "Re-registrations that replaced an account's primary");

    /// <summary>Companions unlinked because their account's primary re-registered.</summary>
    public static readonly Counter<long> ReRegistrationUnlinks = Meter.CreateCounter<long>("cluster_reregistration_companions_unlinked_total", description: "Companions unlinked by a re-registration of their primary");

    /// <summary>Registration-lock checks of a re-registration by outcome (label <c>outcome</c>: unlocked, pin_required, wrong_pin, throttled, passed).</summary>
    public static readonly Counter<long> RegistrationLockChecks = Meter.CreateCounter<long>("cluster_registration_lock_checks_total", description: "Registration-lock checks of re-registrations by outcome");

    /// <summary>Registration locks set or removed (label <c>change</c>: set, removed).</summary>
    public static readonly Counter<long> RegistrationLockChanges = Meter.CreateCounter<long>("cluster_registration_lock_changes_total", description: "Registration locks set or removed by primaries");
}
