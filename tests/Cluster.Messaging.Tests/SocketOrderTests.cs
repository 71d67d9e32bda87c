using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Messaging;
using Cluster.Testing;

namespace Cluster.Messaging.Tests;

/// <summary>
/// Two sockets of one device whose attach calls reach the device's grain out of order (a slow silo, or a first attach
/// that timed out while the device reconnected): the socket accepted later must be the one that stays.
/// </summary>
[Collection(SharedSilo.Name)]
public sealed class SocketOrderTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    [Fact]
    public async Task Connect_OlderSocketAttachesAfterNewer_OlderIsClosedWith4409AndNewerStays()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        var grain = Silo.Grains.GetGrain<IDeviceGrain>(device.Login);
        var (older, newer) = (new RecordingConnection(), new RecordingConnection());
        var (olderId, newerId) = (Guid.NewGuid(), Guid.NewGuid());
        var incarnation = await IncarnationAsync(device);

        await grain.ConnectAsync(Silo.Grains.CreateObjectReference<IDeviceConnection>(newer), newerId, acceptedAt: 2_000, incarnation);
        await grain.ConnectAsync(Silo.Grains.CreateObjectReference<IDeviceConnection>(older), olderId, acceptedAt: 1_000, incarnation);

        Assert.Equal(4409, await older.Closed.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken));
        Assert.Equal(SocketAttachment.Attached, await grain.PingAsync(newerId));
        Assert.False(newer.Closed.IsCompleted);
    }

    [Fact]
    public async Task Connect_NewerSocketAttachesAfterOlder_OlderIsClosedWith4409AndNewerStays()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        var grain = Silo.Grains.GetGrain<IDeviceGrain>(device.Login);
        var (older, newer) = (new RecordingConnection(), new RecordingConnection());
        var (olderId, newerId) = (Guid.NewGuid(), Guid.NewGuid());
        var incarnation = await IncarnationAsync(device);

        await grain.ConnectAsync(Silo.Grains.CreateObjectReference<IDeviceConnection>(older), olderId, acceptedAt: 1_000, incarnation);
        await grain.ConnectAsync(Silo.Grains.CreateObjectReference<IDeviceConnection>(newer), newerId, acceptedAt: 2_000, incarnation);

        Assert.Equal(4409, await older.Closed.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken));
        Assert.Equal(SocketAttachment.Attached, await grain.PingAsync(newerId));
        Assert.False(newer.Closed.IsCompleted);
    }

    [Fact]
    public async Task Connect_SocketOfAnotherIncarnation_RefusedWith4401AndNotAttached()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        var grain = Silo.Grains.GetGrain<IDeviceGrain>(device.Login);
        var stale = new RecordingConnection();
        var staleId = Guid.NewGuid();

        var answer = await grain.ConnectAsync(Silo.Grains.CreateObjectReference<IDeviceConnection>(stale), staleId, acceptedAt: 1_000, Guid.NewGuid());

        Assert.Equal(SocketAttachment.Refused, answer);
        Assert.Equal(4401, await stale.Closed.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken));
        Assert.Equal(SocketAttachment.Detached, await grain.PingAsync(staleId));
        Assert.Equal(SocketAttachment.Detached, await grain.SocketAckAsync(staleId, [Guid.NewGuid()]));
    }

    private async Task<Guid> IncarnationAsync(TestDevice device) =>
        (await Silo.Grains.GetGrain<IAccountGrain>(device.AccountId).AuthenticateAsync(device.DeviceId))!.Incarnation;

    private sealed class RecordingConnection : IDeviceConnection
    {
        private readonly TaskCompletionSource<int> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<int> Closed => closed.Task;

        public Task SendAsync(IReadOnlyList<DeviceFrame> frames) => Task.CompletedTask;

        public Task CloseAsync(int status, string reason)
        {
            closed.TrySetResult(status);
            return Task.CompletedTask;
        }

        public Task DetachedAsync() => Task.CompletedTask;
    }
}
