using System.Text.Json.Nodes;
using Cluster.Testing;
using static Cluster.Groups.Tests.GroupSends;

namespace Cluster.Groups.Tests;

/// <summary>
/// Group send on two silos in this process sharing one fresh PostgreSQL database: member devices connected to both
/// silos, sends through both gateways (<see cref="PostgresSiloPair"/>: skipped, with the reason, without PostgreSQL).
/// </summary>
public sealed class GroupClusterTests
{
    [Fact]
    public async Task Send_MemberDevicesOnBothSilos_EveryDeviceButSenderGetsEachMessageOnce()
    {
        await using var cluster = await PostgresSiloPair.StartAsync("group-cluster", cancellationToken: TestContext.Current.CancellationToken);
        TestSilo[] silos = [cluster.A, cluster.B];

        // Three accounts of two devices each; each account has one device on each silo.
        var (groupId, devices) = await GroupAsync(cluster.A, 2, 2, 2);
        var sockets = new List<TestSocket>();
        try
        {
            for (var i = 0; i < devices.Length; i++)
            {
                var socket = await TestSocket.ConnectAsync(silos[i % 2], devices[i], TestContext.Current.CancellationToken);
                sockets.Add(socket);
                Assert.Empty(await socket.ReadBacklogAsync());
            }

            // Each account's primary sends once, through the silo its socket is not on; then a companion's marker, and
            // another's for that companion: whatever a device got before its first marker is all it will ever get of
            // the three sends (each send is durable everywhere before the next starts).
            string[] texts = ["from a1", "from b1", "from c1"];
            for (var s = 0; s < 3; s++)
            {
                using var http = devices[s * 2].CreateClient(silos[(s + 1) % 2]);
                await SendOkAsync(http, groupId, Body(View(devices[s * 2], devices), texts[s]));
            }

            foreach (var marker in new[] { devices[1], devices[3] })
            {
                using var http = marker.CreateClient(silos[marker == devices[1] ? 0 : 1]);
                await SendOkAsync(http, groupId, Body(View(marker, devices), "marker"));
            }

            var received = await Task.WhenAll(sockets.Select(UntilMarkerAsync));

            for (var i = 0; i < devices.Length; i++)
            {
                // Each device gets every message but its own (primaries sent; companions did not).
                var expected = texts.Where((_, s) => i != s * 2).Order(StringComparer.Ordinal);
                Assert.Equal(expected, received[i].Order(StringComparer.Ordinal));
            }
        }
        finally
        {
            foreach (var socket in sockets)
            {
                await socket.DisposeAsync();
            }
        }
    }

    /// <summary>The contents of the envelopes on <paramref name="socket"/> before the first marker, each id once; all acked.</summary>
    private static async Task<List<string>> UntilMarkerAsync(TestSocket socket)
    {
        var contents = new List<string>();
        var envelopes = new List<JsonObject>();
        while (true)
        {
            var envelope = await socket.NextEnvelopeAsync();
            Assert.DoesNotContain((string?)envelope["id"], envelopes.Select(e => (string?)e["id"]));
            envelopes.Add(envelope);
            var content = Messages.ContentOf(envelope);
            if (content == "marker")
            {
                break;
            }

            contents.Add(content);
        }

        await socket.AckAsync(envelopes);
        return contents;
    }
}
