using Cluster.Silo.Messaging;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cluster.Messaging.Tests;

/// <summary>
/// Observers of closed sockets wait out a 30 s grace, at most <c>Sockets:MaxClosedObservers</c> of them per silo; the
/// rest are deleted at once. The cap belongs to the silo (one counter each), so another test's sockets never count.
/// </summary>
public sealed class ObserverReferencesTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SocketsClose_MoreThanMaxClosedObservers_RestDeletedAtOnce()
    {
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings { Settings = new Dictionary<string, string> { ["Sockets:MaxClosedObservers"] = "1" } }, Cancel);
        var device = await TestAccounts.RegisterAsync(silo);
        var observers = silo.Services.GetRequiredService<ObserverReferences>();

        for (var i = 0; i < 3; i++)
        {
            await using var socket = await TestSocket.ConnectAsync(silo, device, Cancel);
            await socket.ReadBacklogAsync();
        }

        // The server lets go of a socket after the client's close; the three observers are handed over by then.
        await Eventually.TrueAsync(
            () => Task.FromResult(observers.Held + observers.DeletedEarly == 3),
            TimeSpan.FromSeconds(20),
            () => $"3 closed observers handed over, got {observers.Held} held and {observers.DeletedEarly} deleted early");
        Assert.Equal(1, observers.Held);
        Assert.Equal(2, observers.DeletedEarly);
    }

    [Fact]
    public async Task Start_NegativeMaxClosedObservers_RejectedNamingTheKey()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => TestSilo.StartAsync(
            new TestSiloSettings { Settings = new Dictionary<string, string> { ["Sockets:MaxClosedObservers"] = "-1" } }, Cancel));

        Assert.Contains("MaxClosedObservers", failure.Message, StringComparison.Ordinal);
    }
}
