using System.Reflection;
using Cluster.Abstractions.Messaging;
using Cluster.Silo.Messaging;

namespace Cluster.Messaging.Tests;

/// <summary>Observers of closed sockets are kept a while, but never more than a bound, however fast sockets churn.</summary>
public sealed class ObserverReferencesTests
{
    [Fact]
    public void DeleteLater_MoreClosedSocketsThanTheBound_TheRestDeletedAtOnce()
    {
        var grains = DispatchProxy.Create<IGrainFactory, CountingGrainFactory>();
        var deleted = (CountingGrainFactory)(object)grains;
        var kept = 0;

        // A client opening and closing sockets in a loop: twice the bound within the grace.
        for (var i = 0; i < 2 * ObserverReferences.MaxPending; i++)
        {
            kept += ObserverReferences.DeleteLater<IDeviceConnection>(grains, null!) ? 1 : 0;
        }

        Assert.True(ObserverReferences.Pending <= ObserverReferences.MaxPending, $"{ObserverReferences.Pending} observers kept past their sockets");
        Assert.True(kept <= ObserverReferences.MaxPending, $"{kept} of {2 * ObserverReferences.MaxPending} were kept");
        Assert.True(deleted.Deletes >= ObserverReferences.MaxPending, $"only {deleted.Deletes} were deleted at once");
    }

    /// <summary>An IGrainFactory that counts DeleteObjectReference calls and has nothing else.</summary>
    public class CountingGrainFactory : DispatchProxy
    {
        private int deletes;

        public int Deletes => Volatile.Read(ref deletes);

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name == nameof(IGrainFactory.DeleteObjectReference))
            {
                Interlocked.Increment(ref deletes);
                return null;
            }

            throw new NotSupportedException(targetMethod?.Name);
        }
    }
}
