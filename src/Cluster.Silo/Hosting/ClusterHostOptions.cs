
namespace Cluster.Silo.Hosting;

/// <summary>
/// The silo's own settings, bound from the <c>Cluster</c> configuration section
/// (environment variables <c>Cluster__Storage</c>, <c>Cluster__ConnectionString</c>, ...).
/// </summary>
public sealed class ClusterHostOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Cluster";

    /// <summary>
    /// What a graceful stop needs after the drain: up to 5 seconds to close sockets, then a few for Orleans to leave the
    /// cluster. <see cref="ShutdownTimeoutSeconds"/> must be at least <see cref="ShutdownDrainSeconds"/> plus this.
    /// </summary>
    public const double MinimumStopSeconds = 10;

    /// <summary>
    /// Where state lives: <c>Sqlite</c> (embedded, one silo, one file) or <c>PostgreSql</c> (a cluster of silos on one
    /// database). Default: <c>Sqlite</c>.
    /// </summary>
    public string Storage { get; set; } = nameof(StorageMode.Sqlite);

    /// <summary>The SQLite database file in embedded mode. Default: <c>./data/cluster.db</c>.</summary>
    public string DataPath { get; set; } = Path.Combine("data", "cluster.db");

    /// <summary>The Npgsql connection string in PostgreSQL mode; required there, ignored in embedded mode. Default: none.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Orleans cluster id: silos with the same id and database form one cluster. Default: <c>cluster</c>.</summary>
    public string ClusterId { get; set; } = "cluster";

    /// <summary>Orleans service id: stable across deployments, it keys persisted state. Default: <c>messaging</c>.</summary>
    public string ServiceId { get; set; } = "messaging";

    /// <summary>Silo-to-silo port. Default: 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>
    /// Orleans gateway port for .NET cluster clients, or 0 for no gateway. Clients of the product speak HTTP and never
    /// use it; a gateway client can call any grain method, past every check of the client protocol, so a non-zero port
    /// requires <see cref="Tls"/> (only holders of a cluster certificate get in). Default: 0 (no gateway).
    /// </summary>
    public int GatewayPort { get; set; }

    /// <summary>Mutual TLS on the silo-to-silo port and the gateway (<c>Cluster:Tls:*</c>). Default: off.</summary>
    public ClusterTlsSettings Tls { get; set; } = new();

    /// <summary>
    /// The IP address other silos use to reach this one in PostgreSQL mode (in Kubernetes: the pod IP).
    /// Default: none, the first non-loopback IPv4 address of the machine.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// How long a stopping silo keeps serving (readiness already false) before it stops taking requests, so that
    /// load balancers stop sending new clients. Default: 0 seconds (set a few seconds in Kubernetes).
    /// </summary>
    public double ShutdownDrainSeconds { get; set; }

    /// <summary>
    /// How long the whole graceful stop may take (the host's shutdown timeout): the drain, closing sockets (up to
    /// 5 seconds) and Orleans leaving the cluster. Past it the silo stops ungracefully. At least
    /// <see cref="ShutdownDrainSeconds"/> + 10. In Kubernetes, keep <c>terminationGracePeriodSeconds</c> above this plus
    /// the preStop hook. Default: 30 seconds (.NET's own).
    /// </summary>
    public double ShutdownTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// The silo's name in the membership table and in Orleans' logs (in Kubernetes: the pod name). Default: none, a
    /// random <c>Silo_xxxxx</c> chosen by Orleans.
    /// </summary>
    public string? SiloName { get; set; }

    /// <summary>
    /// Where device grains live: <c>Socket</c> (on the silo that holds the device's socket; a grain activated elsewhere
    /// moves there when the device connects) or <c>Default</c> (Orleans' default placement, and no moves). See
    /// docs/cluster.md, "Device grain placement". Default: <c>Socket</c>.
    /// </summary>
    public string DevicePlacement { get; set; } = nameof(DevicePlacementMode.Socket);

    /// <summary>
    /// How often each device socket checks that its device grain still has it attached, and attaches it again if not
    /// (a grain whose silo died is reactivated elsewhere without its socket). Sockets also check, within a few seconds,
    /// whenever a silo is declared dead, and at once when their grain deactivates; this is the backstop. The checks also
    /// keep a connected device's grain from being collected as idle (after 15 minutes): at most 600. Default: 30.
    /// </summary>
    public double SocketKeepAliveSeconds { get; set; } = 30;

    /// <summary>
    /// The most client connections (HTTP and device sockets together) this silo holds at once; a connection past it is
    /// closed as soon as it is accepted, and the client tries another silo. Default: none set, derived from the
    /// process's open-file limit (the limit less a tenth, or less 2,048, for the runtime's own files), because a silo
    /// out of file descriptors is aborted.
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>
    /// The most device sockets this silo holds at once; past it a socket upgrade is refused with 503 <c>at_capacity</c>
    /// and the client connects elsewhere. Default: none set, all but a tenth of <see cref="MaxConnections"/> (all but
    /// 1,024 at least), so that a silo full of sockets still answers HTTP.
    /// </summary>
    public int? MaxSockets { get; set; }

    /// <summary>
    /// Failure detection and membership-table housekeeping (<c>Cluster:Membership:*</c>), with defaults for failover in
    /// seconds; see <see cref="ClusterMembershipSettings"/>.
    /// </summary>
    public ClusterMembershipSettings Membership { get; set; } = new();

    /// <summary>The parsed <see cref="Storage"/>; valid only after validation.</summary>
    public StorageMode StorageMode => Enum.Parse<StorageMode>(Storage, ignoreCase: true);

    /// <summary>The parsed <see cref="DevicePlacement"/>; valid only after validation.</summary>
    public DevicePlacementMode DevicePlacementMode => Enum.Parse<DevicePlacementMode>(DevicePlacement, ignoreCase: true);

    /// <summary>Reads and validates the section; throws <see cref="OptionsValidationException"/> naming each bad key.</summary>
    public static ClusterHostOptions Load(IConfiguration configuration)
    {
        var options = new ClusterHostOptions();
        try
        {
            configuration.GetSection(SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // Binding fails for a non-numeric port; the inner message names the key.
            throw new OptionsValidationException(SectionName, typeof(ClusterHostOptions), [ex.Message]);
        }

        var result = new ClusterHostOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(SectionName, typeof(ClusterHostOptions), result.Failures);
        }

        return options;
    }
}

/// <summary>
/// How fast the cluster declares a silo dead that stopped answering (a <c>kill -9</c>, a lost machine), and how long dead
/// silos stay in the membership table. A silo is suspected after <see cref="MissedProbesLimit"/> probes of
/// <see cref="ProbeTimeoutSeconds"/> each go unanswered, and declared dead once <see cref="VotesForDeathDeclaration"/>
/// silos suspect it; but no silo votes against one that sent it anything within <see cref="MaxProbeTimeoutSeconds"/> times
/// <see cref="MissedProbesLimit"/> (12 s by default), so that a pause (a long GC, a starved machine) that short is survived.
/// A silo whose process is gone (its connections drop, its port refuses new ones) is declared dead within a second
/// (<see cref="DeclareDeadOnRefusedConnection"/>). A silo that stops gracefully leaves at once. See docs/cluster.md.
/// </summary>
public sealed class ClusterMembershipSettings
{
    /// <summary>
    /// Initial timeout of one liveness probe, and the period between probes, in seconds. Orleans adapts it to the measured
    /// round trips, between half this and <see cref="MaxProbeTimeoutSeconds"/>: on a fast network each silo probes every
    /// second. Default: 2 (Orleans' own: 5).
    /// </summary>
    public double ProbeTimeoutSeconds { get; set; } = 2;

    /// <summary>
    /// The longest a probe may be given, in seconds, when the probing silo is itself degraded; times
    /// <see cref="MissedProbesLimit"/>, it is also how long a silo that has sent anything at all is safe from votes
    /// (Orleans' connection-liveness check): the longest pause (GC, a starved machine, SIGSTOP) it survives, and how long a
    /// silo that hangs with its connections open takes to be suspected. Default: none, twice
    /// <see cref="ProbeTimeoutSeconds"/> (4 s: 12 s with 3 missed probes; Orleans' own is four times, 60 s with its defaults).
    /// </summary>
    public double? MaxProbeTimeoutSeconds { get; set; }

    /// <summary>Missed probes after which a silo suspects (votes against) the silo it probes. Default: 3.</summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>Suspicions needed to declare a silo dead (Orleans needs fewer when fewer silos are active). Default: 2.</summary>
    public int VotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How often each silo re-reads the membership table (changes also spread by gossip at once), in seconds. Default: 60.</summary>
    public double TableRefreshSeconds { get; set; } = 60;

    /// <summary>How long a dead silo's row stays in the membership table before cleanup may delete it, in hours (at least 1: Orleans keeps a dead row an hour anyway). Default: 168 (a week).</summary>
    public double DefunctSiloExpirationHours { get; set; } = 168;

    /// <summary>
    /// Whether a silo whose connection dropped and whose silo port then refuses connections
    /// (<see cref="RefusedConnectionChecks"/> times, <see cref="RefusedConnectionCheckIntervalSeconds"/> apart) is declared
    /// dead at once, without waiting for the probes: its process is gone (killed, crashed, OOM-killed). A paused or
    /// starved silo keeps its port open and is left to the probes. See docs/cluster.md, "Failure detection". Default: true.
    /// </summary>
    public bool DeclareDeadOnRefusedConnection { get; set; } = true;

    /// <summary>Refused connections in a row that prove a silo's process gone (1..10). Default: 2.</summary>
    public int RefusedConnectionChecks { get; set; } = 2;

    /// <summary>Seconds between those connection attempts (0.05..10). Default: 0.25.</summary>
    public double RefusedConnectionCheckIntervalSeconds { get; set; } = 0.25;
}

/// <summary>Where device grains are placed (<see cref="ClusterHostOptions.DevicePlacement"/>).</summary>
public enum DevicePlacementMode
{
    /// <summary>On the silo of the device's socket.</summary>
    Socket,

    /// <summary>Orleans' default placement.</summary>
    Default,
}

/// <summary>Where the silo keeps its state.</summary>
public enum StorageMode
{
    /// <summary>Embedded: one silo, localhost clustering, one SQLite file.</summary>
    Sqlite,

    /// <summary>Cluster: ADO.NET clustering, persistence and reminders on PostgreSQL.</summary>
    PostgreSql,
}

internal sealed class ClusterHostOptionsValidator : IValidateOptions<ClusterHostOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterHostOptions options)
    {
        var failures = new List<string>();
        var key = ClusterHostOptions.SectionName;

        if (!Enum.TryParse<StorageMode>(options.Storage, ignoreCase: true, out var mode) || !Enum.IsDefined(mode)
            || int.TryParse(options.Storage, out _))
        {
            failures.Add($"{key}:Storage: '{options.Storage}' is not a storage kind; use Sqlite or PostgreSql.");
        }
        else if (mode == StorageMode.PostgreSql)
        {
            ValidatePostgres(options.ConnectionString, failures);
        }
        else if (string.IsNullOrWhiteSpace(options.DataPath))
        {
            failures.Add($"{key}:DataPath: must name the SQLite database file.");
        }

        ValidatePort(nameof(options.SiloPort), options.SiloPort, failures);
        if (options.GatewayPort != 0)
        {
            ValidatePort(nameof(options.GatewayPort), options.GatewayPort, failures);
            if (options.SiloPort == options.GatewayPort)
            {
                failures.Add($"{key}:GatewayPort: must differ from {key}:SiloPort ({options.SiloPort}).");
            }

            if (!options.Tls.Enabled)
            {
                failures.Add($"{key}:GatewayPort: a gateway ({options.GatewayPort}) lets its clients call any grain method past the protocol's checks; "
                    + $"it needs {key}:Tls:CertificatePath and {key}:Tls:CertificateAuthorityPath (mutual TLS), or set it to 0.");
            }
        }

        ClusterTls.Load(options.Tls, failures);

        ValidateId(nameof(options.ClusterId), options.ClusterId, failures);
        ValidateId(nameof(options.ServiceId), options.ServiceId, failures);

        if (options.AdvertisedAddress is { Length: > 0 } address && !System.Net.IPAddress.TryParse(address, out _))
        {
            failures.Add($"{key}:AdvertisedAddress: '{address}' is not an IP address.");
        }

        if (options.ShutdownDrainSeconds is < 0 or > 600 || double.IsNaN(options.ShutdownDrainSeconds))
        {
            failures.Add($"{key}:ShutdownDrainSeconds: {options.ShutdownDrainSeconds} is outside 0..600.");
        }

        if (options.ShutdownTimeoutSeconds is < 1 or > 3600 || double.IsNaN(options.ShutdownTimeoutSeconds))
        {
            failures.Add($"{key}:ShutdownTimeoutSeconds: {options.ShutdownTimeoutSeconds} is outside 1..3600.");
        }
        else if (options.ShutdownTimeoutSeconds < options.ShutdownDrainSeconds + ClusterHostOptions.MinimumStopSeconds)
        {
            failures.Add($"{key}:ShutdownTimeoutSeconds: {options.ShutdownTimeoutSeconds} leaves less than {ClusterHostOptions.MinimumStopSeconds} s "
                + $"after the {options.ShutdownDrainSeconds} s of {key}:ShutdownDrainSeconds to close sockets and leave the cluster.");
        }

        if (options.SiloName is { } siloName && (siloName.Length is 0 or > 253 || string.IsNullOrWhiteSpace(siloName)))
        {
            failures.Add($"{key}:SiloName: must be 1..253 characters when set.");
        }

        if (!Enum.TryParse<DevicePlacementMode>(options.DevicePlacement, ignoreCase: true, out var placement) || !Enum.IsDefined(placement)
            || int.TryParse(options.DevicePlacement, out _))
        {
            failures.Add($"{key}:DevicePlacement: '{options.DevicePlacement}' is not a placement; use Socket or Default.");
        }

        if (options.MaxConnections is < 1)
        {
            failures.Add($"{key}:MaxConnections: {options.MaxConnections} must be at least 1.");
        }

        if (options.MaxSockets is < 1)
        {
            failures.Add($"{key}:MaxSockets: {options.MaxSockets} must be at least 1.");
        }
        else if (options.MaxSockets > options.MaxConnections)
        {
            failures.Add($"{key}:MaxSockets: {options.MaxSockets} is more than {key}:MaxConnections ({options.MaxConnections}); every socket is a connection.");
        }

        // The checks also keep a connected device's grain active: Orleans collects a grain after 15 idle minutes.
        if (options.SocketKeepAliveSeconds is < 1 or > 600 || double.IsNaN(options.SocketKeepAliveSeconds))
        {
            failures.Add($"{key}:SocketKeepAliveSeconds: {options.SocketKeepAliveSeconds} is outside 1..600.");
        }

        ValidateMembership(options.Membership, failures);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateMembership(ClusterMembershipSettings membership, List<string> failures)
    {
        var key = $"{ClusterHostOptions.SectionName}:{nameof(ClusterHostOptions.Membership)}";
        if (membership.ProbeTimeoutSeconds is < 0.1 or > 600 || double.IsNaN(membership.ProbeTimeoutSeconds))
        {
            failures.Add($"{key}:ProbeTimeoutSeconds: {membership.ProbeTimeoutSeconds} is outside 0.1..600.");
        }

        if (membership.MaxProbeTimeoutSeconds is { } max && (max is > 600 || double.IsNaN(max) || max < membership.ProbeTimeoutSeconds))
        {
            failures.Add($"{key}:MaxProbeTimeoutSeconds: {max} is outside {membership.ProbeTimeoutSeconds} ({key}:ProbeTimeoutSeconds)..600.");
        }

        if (membership.MissedProbesLimit is < 1 or > 100)
        {
            failures.Add($"{key}:MissedProbesLimit: {membership.MissedProbesLimit} is outside 1..100.");
        }

        if (membership.VotesForDeathDeclaration is < 1 or > 100)
        {
            failures.Add($"{key}:VotesForDeathDeclaration: {membership.VotesForDeathDeclaration} is outside 1..100.");
        }

        if (membership.TableRefreshSeconds is < 0.1 or > 3600 || double.IsNaN(membership.TableRefreshSeconds))
        {
            failures.Add($"{key}:TableRefreshSeconds: {membership.TableRefreshSeconds} is outside 0.1..3600.");
        }

        if (membership.DefunctSiloExpirationHours is < 1 or > 8760 || double.IsNaN(membership.DefunctSiloExpirationHours))
        {
            failures.Add($"{key}:DefunctSiloExpirationHours: {membership.DefunctSiloExpirationHours} is outside 1..8760 (Orleans keeps dead rows at least an hour anyway).");
        }

        if (membership.RefusedConnectionChecks is < 1 or > 10)
        {
            failures.Add($"{key}:RefusedConnectionChecks: {membership.RefusedConnectionChecks} is outside 1..10.");
        }

        if (membership.RefusedConnectionCheckIntervalSeconds is < 0.05 or > 10 || double.IsNaN(membership.RefusedConnectionCheckIntervalSeconds))
        {
            failures.Add($"{key}:RefusedConnectionCheckIntervalSeconds: {membership.RefusedConnectionCheckIntervalSeconds} is outside 0.05..10.");
        }
    }

    private static void ValidatePostgres(string? connectionString, List<string> failures)
    {
        var key = $"{ClusterHostOptions.SectionName}:ConnectionString";
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            failures.Add($"{key}: required when Storage is PostgreSql.");
            return;
        }

        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            if (string.IsNullOrEmpty(builder.Host))
            {
                failures.Add($"{key}: names no Host.");
            }
        }
        catch (ArgumentException ex)
        {
            // The message names the offending keyword, never the password.
            failures.Add($"{key}: cannot be parsed ({ex.Message}).");
        }
    }

    private static void ValidatePort(string name, int port, List<string> failures)
    {
        if (port is < 1 or > 65535)
        {
            failures.Add($"{ClusterHostOptions.SectionName}:{name}: {port} is not a port (1..65535).");
        }
    }

    private static void ValidateId(string name, string value, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 150)
        {
            failures.Add($"{ClusterHostOptions.SectionName}:{name}: must be 1..150 characters.");
        }
    }
}
