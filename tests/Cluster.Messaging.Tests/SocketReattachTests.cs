using System.Text.Json.Nodes;
using Cluster.Abstractions.Devices;
using Cluster.Testing;
using Orleans;
using Orleans.Core.Internal;

namespace Cluster.Messaging.Tests;

/// <summary>
/// A device grain that deactivates with its socket attached (its silo stops, Orleans collects it) tells the socket,
/// which attaches again at once: the device goes on receiving on the same socket. The keep-alive check is set to ten
/// minutes here, so only the grain's notice can bring the socket back within the test.
/// </summary>
public sealed class SocketReattachTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GrainDeactivates_WithSocketAttached_SameSocketAttachesAgainAndGetsWhatIsSentNext()
    {
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings { Settings = new Dictionary<string, string> { ["Cluster:SocketKeepAliveSeconds"] = "600" } }, Cancel);
        var alice = await TestAccounts.RegisterAsync(silo);
        var bob = await TestAccounts.RegisterAsync(silo);
        using var sender = alice.CreateClient(silo);
        await using var socket = await TestSocket.ConnectAsync(silo, bob, Cancel);
        Assert.Empty(await socket.ReadBacklogAsync());
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "before"), Cancel);
        var before = await socket.NextEnvelopeAsync();
        await socket.AckAsync([before]);

        await silo.Grains.GetGrain<IDeviceGrain>(bob.Login).Cast<IGrainManagementExtension>().DeactivateOnIdle(Cancel);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "after"), Cancel);

        // The new activation starts delivery over (the ack of "before" may or may not have landed first), then "after".
        var after = await NextOtherThanAsync(socket, before);
        Assert.Equal($"after for {bob.Login}", Messages.ContentOf(after));
        Assert.False(socket.Closed.IsCompleted, "the socket stayed open");
    }

    /// <summary>The next envelope that is not <paramref name="seen"/> (again, by id), past any queueEmpty.</summary>
    private static async Task<JsonObject> NextOtherThanAsync(TestSocket socket, JsonObject seen)
    {
        while (true)
        {
            var frame = await socket.NextAsync("an envelope sent after the grain deactivated", TimeSpan.FromSeconds(30));
            if ((string?)frame["kind"] == "envelope" && (string?)frame["envelope"]!["id"] != (string?)seen["id"])
            {
                return frame["envelope"]!.AsObject();
            }
        }
    }
}
