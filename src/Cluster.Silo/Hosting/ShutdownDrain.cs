namespace Cluster.Silo.Hosting;

/// <summary>
/// What a feature must do when the silo begins to stop: after the readiness drain, before the silo leaves the cluster.
/// A feature registers its own (<c>services.AddSingleton&lt;IShutdownStep, ...&gt;()</c>); Hosting knows none of them.
/// </summary>
internal interface IShutdownStep
{
    /// <summary>Runs once, in registration order. <paramref name="cancellationToken"/> fires when the host's shutdown timeout runs out.</summary>
    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Turns readiness off as soon as shutdown begins, keeps serving for <see cref="ClusterHostOptions.ShutdownDrainSeconds"/>
/// so that load balancers stop routing new clients here, then runs every feature's <see cref="IShutdownStep"/>
/// (Messaging closes device sockets with 1001), all before the silo leaves.
/// </summary>
internal sealed class ShutdownDrain(
    ClusterHostOptions options,
    IHostApplicationLifetime lifetime,
    IEnumerable<IShutdownStep> steps,
    [FromKeyedServices(Cluster.Grains.ClusterClock.Key)] TimeProvider time) : IHostedLifecycleService
{
    private volatile bool stopping;

    /// <summary>The host runs lifecycle services' StoppingAsync before it signals ApplicationStopping, so both count.</summary>
    public bool IsStopping => stopping || lifetime.ApplicationStopping.IsCancellationRequested;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        if (options.ShutdownDrainSeconds > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(options.ShutdownDrainSeconds), time, cancellationToken);
        }

        foreach (var step in steps)
        {
            await step.RunAsync(cancellationToken);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
