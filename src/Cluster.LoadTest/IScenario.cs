using Cluster.LoadTest.Reporting;

namespace Cluster.LoadTest;

/// <summary>A load scenario: sets up its population, drives its operations, and accounts for them.</summary>
internal interface IScenario
{
    Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken);
}
