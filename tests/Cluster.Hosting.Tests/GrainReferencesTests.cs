using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Cluster.Grains;
using Cluster.Testing;

namespace Cluster.Hosting.Tests;

public sealed class GrainReferencesTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Get_FirstAndLaterCalls_SameReferenceAsGetGrainAndCallable()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var device = await TestAccounts.RegisterAsync(silo);

        // The first call of a type resolves it the ordinary way, the later ones reuse what it found.
        foreach (var key in new[] { device.AccountId, device.AccountId, "someone-else" })
        {
            var fast = silo.Grains.Get<IAccountGrain>(key);
            var ordinary = silo.Grains.GetGrain<IAccountGrain>(key);
            Assert.Equal(ordinary.GetGrainId(), fast.GetGrainId());
            Assert.Equal(ordinary, fast);
        }

        var credential = await silo.Grains.Get<IAccountGrain>(device.AccountId).AuthenticateAsync(device.DeviceId);
        Assert.NotNull(credential);
        var other = silo.Grains.Get<IDeviceGrain>(new DeviceAddress(device.AccountId, device.DeviceId).GrainKey);
        Assert.Equal(silo.Grains.GetGrain<IDeviceGrain>(new DeviceAddress(device.AccountId, device.DeviceId).GrainKey), other);
    }

    [Fact]
    public async Task Get_EmptyKey_RefusedAsGetGrainRefusesIt()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        Assert.Throws<ArgumentException>(() => silo.Grains.Get<IAccountGrain>(" "));
        Assert.ThrowsAny<ArgumentException>(() => silo.Grains.GetGrain<IAccountGrain>(" "));
    }
}
