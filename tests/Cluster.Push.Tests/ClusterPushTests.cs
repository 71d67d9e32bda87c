using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>
/// Two silos on one PostgreSQL database: sends to one device arrive through both, its socket attaches through either,
/// and still one device grain decides, so one wake-up goes out per interval. Skipped, with the reason, when
/// <see cref="PostgresDatabase.AdminConnectionStringVariable"/> names no server.
/// </summary>
public sealed class ClusterPushTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Wake_SendsThroughTwoSilos_OneWakeUpPerDeviceThenOneMoreAfterReconnectThroughTheOtherSilo()
    {
        await using var service = await WebPushService.StartAsync();
        await using var cluster = await PushCluster.StartAsync(StorageKind.PostgreSql, 2, new FakeTimeProvider(DateTimeOffset.UtcNow), null, Cancel);
        var (a, b) = (cluster.Silos[0], cluster.Silos[1]);
        var alice = await TestAccounts.RegisterAsync(a);
        var bob = await TestAccounts.RegisterAsync(b);
        using var throughA = alice.CreateClient(a);
        using var throughB = alice.CreateClient(b);
        using (var receiver = bob.CreateClient(b))
        {
            await Push.SubscribeAsync(receiver, service.Subscription(), Cancel);
        }

        await SendAsync(throughA, throughB, bob, "first");
        var first = await service.NextAsync(Cancel);
        // The urgent send bypasses the coalescing; the grain's one silo queues its wake-ups in order (one worker), so
        // had any of the ten normal sends pushed again, it would come before this one.
        var urgent = await service.NextAsync(Cancel);

        await using (var socket = await TestSocket.ConnectAsync(a, bob, Cancel))
        {
            await socket.ReadBacklogAsync();
        }

        await Push.OfflineAsync(b, bob);
        await SendAsync(throughB, throughA, bob, "second");
        var again = await service.NextAsync(Cancel);
        var urgentAgain = await service.NextAsync(Cancel);

        Assert.Equal("normal,high,normal,high", string.Join(",", first.Urgency, urgent.Urgency, again.Urgency, urgentAgain.Urgency));
        Assert.All(new[] { first, urgent, again, urgentAgain }, push => Assert.Equal("wake", (string?)push.Json["kind"]));
        Assert.False(service.TryTake(out _));
    }

    /// <summary>Ten sends to <paramref name="bob"/> alternating between the two silos, then an urgent one through the first.</summary>
    private static async Task SendAsync(HttpClient one, HttpClient other, TestDevice bob, string tag)
    {
        for (var i = 0; i < 10; i++)
        {
            await Messages.SendOkAsync(i % 2 == 0 ? one : other, bob.AccountId, Messages.Body([bob], $"{tag} {i}"), Cancel);
        }

        await Messages.SendOkAsync(one, bob.AccountId, Push.Urgent(Messages.Body([bob], $"{tag} urgent")), Cancel);
    }
}
