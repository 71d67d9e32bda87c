namespace Cluster.Observability.Tests;

/// <summary>
/// Tests that read a silo's /metrics run alone: two silos in one test process share the process-wide meters (ASP.NET
/// Core's and the runtime's), and with two of them started side by side the exchange's silo saw its HTTP series stop
/// moving. A silo process holds one silo, so this is a property of the tests, not of a deployment.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OneSiloAtATime
{
    public const string Name = "one silo at a time";
}
