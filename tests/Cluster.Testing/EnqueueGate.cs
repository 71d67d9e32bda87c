using Cluster.Abstractions.Devices;

namespace Cluster.Testing;

/// <summary>
/// A grain call filter (<c>services.AddSingleton&lt;IIncomingGrainCallFilter&gt;(gate)</c>) that holds every enqueue into a
/// device inbox until <see cref="Release"/>: the sends it holds are under way and unanswered, for as long as a test needs.
/// </summary>
public sealed class EnqueueGate : IIncomingGrainCallFilter
{
    private readonly TaskCompletionSource open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first enqueue reaches the gate.</summary>
    public Task Reached => reached.Task;

    /// <summary>Lets every held enqueue, and every later one, through.</summary>
    public void Release() => open.TrySetResult();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name == nameof(IDeviceGrain.EnqueueAsync))
        {
            reached.TrySetResult();
            await open.Task;
        }

        await context.Invoke();
    }
}
