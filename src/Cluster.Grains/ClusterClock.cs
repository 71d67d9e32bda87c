namespace Cluster.Grains;

/// <summary>
/// The product's clock: every TTL, expiry, rate limit and timeout of ours reads time through the <see cref="TimeProvider"/>
/// registered under <see cref="Key"/>. It is keyed so that tests can run the product on a fake clock while Orleans'
/// own machinery (membership, shutdown, response timeouts) keeps the real one.
/// </summary>
public static class ClusterClock
{
    /// <summary>The service key of the product's <see cref="TimeProvider"/>.</summary>
    public const string Key = "cluster";
}
