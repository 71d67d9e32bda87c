
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

    /// <summary>Orleans gateway port for .NET cluster clients. Default: 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

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

    /// <summary>The parsed <see cref="Storage"/>; valid only after validation.</summary>
    public StorageMode StorageMode => Enum.Parse<StorageMode>(Storage, ignoreCase: true);

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
        ValidatePort(nameof(options.GatewayPort), options.GatewayPort, failures);
        if (options.SiloPort == options.GatewayPort && options.SiloPort != 0)
        {
            failures.Add($"{key}:GatewayPort: must differ from {key}:SiloPort ({options.SiloPort}).");
        }

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

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
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
