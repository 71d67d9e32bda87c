using Cluster.Persistence.Inbox;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Messaging.Tests;

/// <summary>
/// The queue quota (<c>Messages:MaxQueueLength</c>) against a device that acks ids it was never sent: only rows really
/// deleted make room, so the quota holds and the grain's count of its queue stays exact.
/// </summary>
public sealed class QueueQuotaTests
{
    private const int Cap = 10;
    private const int Sends = 30;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Quota_FakeHttpAcksBetweenSends_OldestDroppedAndQueueNeverOverCap()
    {
        await AssertQuotaHoldsAsync(async (receiver, _) =>
        {
            using var fake = await receiver.DeleteAsync($"/v1/messages/{Guid.NewGuid()}", Cancel);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, fake.StatusCode);
        });
    }

    [Fact]
    public async Task Quota_FakeSocketAcksBetweenSends_OldestDroppedAndQueueNeverOverCap()
    {
        await AssertQuotaHoldsAsync((_, socket) => socket.AckAsync([Guid.NewGuid().ToString(), Guid.NewGuid().ToString()]));
    }

    /// <summary>
    /// With the receiver's socket open (it reads, never acks), each send is followed by made-up acks; the queue is
    /// checked after every send. Then, on reconnect, queueOverflow must count exactly the excess; after the receiver
    /// really acks everything, a full queue's worth again must fit without a drop.
    /// </summary>
    private static async Task AssertQuotaHoldsAsync(Func<HttpClient, TestSocket, Task> fakeAck)
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["Messages:MaxQueueLength"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        }, Cancel);
        var store = silo.Services.GetRequiredService<IInboxStore>();
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        using var receiver = bob.CreateClient(silo);

        await using (var socket = await TestSocket.ConnectAsync(silo, bob, Cancel))
        {
            Assert.Empty(await socket.ReadBacklogAsync());
            for (var i = 0; i < Sends; i++)
            {
                await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], $"m{i:D2}"), Cancel);
                await socket.NextEnvelopeAsync();
                await fakeAck(receiver, socket);
                await fakeAck(receiver, socket);

                Assert.InRange(await store.CountAsync(bob.Login, Cancel), 1, Cap);
            }
        }

        await using (var socket = await TestSocket.ConnectAsync(silo, bob, Cancel))
        {
            var overflow = await socket.NextAsync("a queueOverflow event");
            var backlog = await socket.ReadBacklogAsync();

            Assert.Equal("queueOverflow", (string?)overflow["event"]?["type"]);
            Assert.Equal(Sends - Cap, (int)overflow["event"]!["dropped"]!);
            Assert.Equal(Enumerable.Range(Sends - Cap, Cap).Select(i => $"m{i:D2}"), backlog.Select(e => Messages.ContentOf(e).Split(' ')[0]));
            foreach (var envelope in backlog)
            {
                // Each real id twice: the second is a no-op and must not count.
                for (var twice = 0; twice < 2; twice++)
                {
                    using var ack = await receiver.DeleteAsync($"/v1/messages/{(string)envelope["id"]!}", Cancel);
                    Assert.Equal(System.Net.HttpStatusCode.NoContent, ack.StatusCode);
                }
            }
        }

        Assert.Equal(0, await store.CountAsync(bob.Login, Cancel));
        for (var i = 0; i < Cap; i++)
        {
            await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], $"n{i:D2}"), Cancel);
        }

        await using var last = await TestSocket.ConnectAsync(silo, bob, Cancel);
        var refilled = await last.ReadBacklogAsync();
        Assert.Equal(Enumerable.Range(0, Cap).Select(i => $"n{i:D2}"), refilled.Select(e => Messages.ContentOf(e).Split(' ')[0]));
        Assert.Equal(Cap, await store.CountAsync(bob.Login, Cancel));
    }
}
