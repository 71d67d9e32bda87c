using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Calls;
using Cluster.LoadTest.ConnectStorm;
using Cluster.LoadTest.Devices;
using Cluster.LoadTest.LinkChurn;
using Cluster.LoadTest.Load;

namespace Cluster.LoadTest.Reporting;

/// <summary>How long setting up the accounts and devices took.</summary>
internal sealed record SetupResult
{
    public int Accounts { get; init; }

    public int Devices { get; init; }

    public int FailedAccounts { get; init; }

    public double Seconds { get; init; }

    public double AccountsPerSecond { get; init; }

    public int ConnectFailures { get; init; }

    public double ConnectSeconds { get; init; }

    public static SetupResult Of(Population population, int connectFailures, TimeSpan connectTime) => new()
    {
        Accounts = population.Accounts.Count,
        Devices = population.Devices.Count(),
        FailedAccounts = population.Failed,
        Seconds = Math.Round(population.SetupTime.TotalSeconds, 3),
        AccountsPerSecond = population.SetupTime > TimeSpan.Zero ? Math.Round(population.Accounts.Count / population.SetupTime.TotalSeconds, 1) : 0,
        ConnectFailures = connectFailures,
        ConnectSeconds = Math.Round(connectTime.TotalSeconds, 3),
    };
}

/// <summary>What a scenario hands back: its own tallies, on top of the latencies and counters every run has.</summary>
internal sealed record ScenarioResult
{
    public required SetupResult Setup { get; init; }

    public LoadWindow? Window { get; init; }

    public EnvelopeTally? Envelopes { get; init; }

    public CallTally? Calls { get; init; }

    public ChurnTally? Churn { get; init; }

    public ConnectionTally? Connections { get; init; }

    /// <summary>Operations whose p99 <c>--max-p99-ms</c> applies to.</summary>
    public IReadOnlyList<string> GatedOperations { get; init; } = [];

    public bool Drained { get; init; } = true;

    public double DrainSeconds { get; init; }

    /// <summary>Protocol violations seen (call races, unlinked sockets left open), as samples.</summary>
    public IReadOnlyList<string> Violations { get; init; } = [];
}
