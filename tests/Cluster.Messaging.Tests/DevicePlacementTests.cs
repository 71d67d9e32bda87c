using System.Text.Json.Nodes;
using Cluster.Abstractions.Devices;
using Cluster.Persistence;
using Cluster.Testing;
using Orleans;
using Orleans.Runtime;

namespace Cluster.Messaging.Tests;

/// <summary>
/// Where device grains live (<c>Cluster:DevicePlacement</c>): two silos in this process on one fresh PostgreSQL
/// database. A device's grain is first activated off its socket (registration and sends reach it through silo A, and
/// Orleans' default placement puts it on either silo); the device then connects through the silo that does not hold
/// it. Skipped, with the reason, when <see cref="PostgresDatabase.AdminConnectionStringVariable"/> names no server.
/// </summary>
public sealed class DevicePlacementTests
{
    private const int Backlog = 20;
    private const int SentWhileConnecting = 40;

    // Orleans' default TableRefreshTimeout is 60 s: a silo that missed the gossip about a change still sees it by then.
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Connect_SocketPlacementThroughOtherSilo_GrainMovesToSocketSiloAndEveryEnvelopeArrivesOnceInOrder()
    {
        await using var cluster = await TwoSilos.StartAsync("Socket");
        var (bob, sender, home, away) = await BacklogThroughAAsync(cluster);
        using var senderClient = sender;

        // Sends keep coming while the socket attaches and the grain moves: none may be lost, doubled or reordered.
        var sending = SendAsync(sender, bob, Backlog, SentWhileConnecting);
        var socket = await TestSocket.ConnectAsync(away, bob, Cancel);
        var received = await ReceiveAsync(socket, Backlog + SentWhileConnecting);
        await sending;
        await socket.AckAsync(received);
        // The server reads the ack before the close, so once the close completes the ack has been applied.
        await socket.DisposeAsync();
        var movedTo = await cluster.LocationOfAsync(bob);

        Assert.Equal(Expected(0, Backlog + SentWhileConnecting), received.Select(ContentTag));
        Assert.Equal(received.Count, received.Select(e => (string)e["id"]!).Distinct().Count());
        Assert.Equal(away.SiloAddress, movedTo);

        // Back through the first silo: the grain follows, the acked envelopes are gone; a third socket through the
        // other silo replaces it (4409) and gets what is sent next, once.
        await using var second = await TestSocket.ConnectAsync(home, bob, Cancel);
        var leftOver = await second.ReadBacklogAsync();
        await using var third = await TestSocket.ConnectAsync(away, bob, Cancel);
        var replaced = await second.ClosedAsync("with 4409 when the third socket attached");
        var thirdBacklog = await third.ReadBacklogAsync();
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "after"), Cancel);
        var after = await third.NextEnvelopeAsync();

        Assert.Empty(leftOver);
        Assert.Equal(4409, (int?)replaced);
        Assert.Empty(thirdBacklog);
        Assert.Equal("after", ContentTag(after));
        Assert.Equal(away.SiloAddress, await cluster.LocationOfAsync(bob));
    }

    [Fact]
    public async Task Connect_DefaultPlacementThroughOtherSilo_GrainStaysAndBacklogArrivesOnceInOrder()
    {
        await using var cluster = await TwoSilos.StartAsync("Default");
        var (bob, sender, home, away) = await BacklogThroughAAsync(cluster);
        using var senderClient = sender;

        await using var socket = await TestSocket.ConnectAsync(away, bob, Cancel);
        var backlog = await socket.ReadBacklogAsync();
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "live"), Cancel);
        var live = await socket.NextEnvelopeAsync();

        Assert.Equal(Expected(0, Backlog), backlog.Select(ContentTag));
        Assert.Equal("live", ContentTag(live));
        Assert.Equal(home.SiloAddress, await cluster.LocationOfAsync(bob));
    }

    /// <summary>
    /// Registers a sender and bob through silo A, sends bob <see cref="Backlog"/> messages while he is offline (which
    /// activates his grain on either silo), and says which silo holds the grain (home) and which does not (away).
    /// </summary>
    private static async Task<(TestDevice Bob, HttpClient Sender, TestSilo Home, TestSilo Away)> BacklogThroughAAsync(TwoSilos cluster)
    {
        var alice = await TestAccounts.RegisterAsync(cluster.A);
        var bob = await TestAccounts.RegisterAsync(cluster.A);
        var sender = alice.CreateClient(cluster.A);
        for (var i = 0; i < Backlog; i++)
        {
            await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], $"m{i:D3}"), Cancel);
        }

        var home = cluster.At(await cluster.LocationOfAsync(bob));
        return (bob, sender, home, cluster.Other(home));
    }

    private static async Task SendAsync(HttpClient sender, TestDevice to, int first, int count)
    {
        for (var i = first; i < first + count; i++)
        {
            await Messages.SendOkAsync(sender, to.AccountId, Messages.Body([to], $"m{i:D3}"), Cancel);
        }
    }

    /// <summary>The next <paramref name="count"/> envelopes, past the one queueEmpty that comes somewhere among them.</summary>
    private static async Task<List<JsonObject>> ReceiveAsync(TestSocket socket, int count)
    {
        var envelopes = new List<JsonObject>();
        var queueEmpty = 0;
        while (envelopes.Count < count)
        {
            var frame = await socket.NextAsync($"envelope {envelopes.Count + 1} of {count}");
            switch ((string?)frame["kind"])
            {
                case "envelope":
                    envelopes.Add(frame["envelope"]!.AsObject());
                    break;
                case "queueEmpty":
                    queueEmpty++;
                    break;
                default:
                    throw new InvalidOperationException($"unexpected frame: {frame.ToJsonString()}");
            }
        }

        Assert.True(queueEmpty <= 1, $"queueEmpty came {queueEmpty} times");
        return envelopes;
    }

    private static IEnumerable<string> Expected(int first, int count) => Enumerable.Range(first, count).Select(i => $"m{i:D3}");

    private static string ContentTag(JsonObject envelope) => Messages.ContentOf(envelope).Split(' ')[0];

    /// <summary>Two silos with one cluster id on one fresh, migrated database, both seeing each other.</summary>
    private sealed class TwoSilos : IAsyncDisposable
    {
        private readonly PostgresDatabase database;

        private TwoSilos(PostgresDatabase database, TestSilo a, TestSilo b)
        {
            this.database = database;
            A = a;
            B = b;
        }

        public TestSilo A { get; }

        public TestSilo B { get; }

        public static async Task<TwoSilos> StartAsync(string devicePlacement)
        {
            var database = await PostgresDatabase.CreateAsync();
            TestSilo? a = null;
            try
            {
                await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
                var settings = new TestSiloSettings
                {
                    PostgresConnectionString = database.ConnectionString,
                    ClusterId = $"placement-{Guid.NewGuid():N}",
                    Settings = new Dictionary<string, string> { ["Cluster:DevicePlacement"] = devicePlacement },
                };
                a = await TestSilo.StartAsync(settings, Cancel);
                var b = await TestSilo.StartAsync(settings, Cancel);
                await a.WaitForActiveSilosAsync(2, MembershipTimeout, Cancel);
                await b.WaitForActiveSilosAsync(2, MembershipTimeout, Cancel);
                return new TwoSilos(database, a, b);
            }
            catch
            {
                if (a is not null)
                {
                    await a.DisposeAsync();
                }

                await database.DisposeAsync();
                throw;
            }
        }

        public TestSilo At(SiloAddress address) => address.Equals(A.SiloAddress) ? A : B;

        public TestSilo Other(TestSilo silo) => silo == A ? B : A;

        /// <summary>The silo that holds the device's grain, from the silos' own lists of activations.</summary>
        public async Task<SiloAddress> LocationOfAsync(TestDevice device)
        {
            var grain = A.Grains.GetGrain<IDeviceGrain>(device.Login).GetGrainId();
            var activations = await A.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
            return Assert.Single(activations, a => a.GrainId == grain).SiloAddress;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await B.DisposeAsync();
                await A.DisposeAsync();
            }
            finally
            {
                await database.DisposeAsync();
            }
        }
    }
}
