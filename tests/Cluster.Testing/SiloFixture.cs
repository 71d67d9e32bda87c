namespace Cluster.Testing;

/// <summary>
/// One embedded silo shared by a test collection. Tests isolate themselves with fresh account ids, never by order.
/// Prekey fetch limits are raised so that tests fetching many bundles are not throttled; rate-limit tests start
/// their own silo.
/// </summary>
public sealed class SiloFixture : IAsyncLifetime
{
    private TestSilo? silo;

    public TestSilo Silo => silo ?? throw new InvalidOperationException("the fixture has not started");

    public async ValueTask InitializeAsync() =>
        silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["Keys:FetchLimit:Burst"] = "100000" },
        });

    public async ValueTask DisposeAsync()
    {
        if (silo is not null)
        {
            await silo.DisposeAsync();
        }
    }
}
