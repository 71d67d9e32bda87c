using Cluster.Abstractions.Push;

namespace Cluster.Grains.Push;

/// <summary>
/// The silo's bounded queue of wake-ups (implemented by the silo's push feature): <see cref="TryEnqueue"/> never blocks
/// and never waits for a push service; past the bound the wake-up is dropped and counted.
/// </summary>
public interface IPushDispatcher
{
    /// <summary>Queues a wake-up; false when the queue was full (the wake-up is dropped and counted).</summary>
    bool TryEnqueue(PushRequest request);
}
