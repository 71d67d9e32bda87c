using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// An account remembers at most <c>Linking:MaxInterestedAccounts</c> interested accounts: past it the one interested
/// longest ago is forgotten, hears of no change until it shows interest again, and then hears of changes again.
/// </summary>
public sealed class InterestBoundTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DeviceListChanged_MoreInterestedThanTheBound_OldestForgottenUntilInterestedAgain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Time = time,
            Settings = new Dictionary<string, string> { ["Linking:MaxInterestedAccounts"] = "2" },
        }, Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var contacts = new List<TestDevice>();
        var sockets = new List<TestSocket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                // An hour apart: interest is kept to the hour, so each is strictly newer than the one before.
                var contact = await TestAccounts.RegisterAsync(silo);
                await FetchDevicesAsync(silo, contact, primary);
                time.Advance(TimeSpan.FromHours(1));
                contacts.Add(contact);
                var socket = await TestSocket.ConnectAsync(silo, contact, Cancel);
                await socket.ReadBacklogAsync();
                sockets.Add(socket);
            }

            var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
            var heard = await Task.WhenAll(sockets.Skip(1).Select(s => s.NextAsync("deviceListChanged after the link")));
            await AssertNothingBeforeProbeAsync(silo, primary, contacts[0], sockets[0], "the forgotten contact should not hear of the link");

            Assert.All(heard, e => Assert.Equal(primary.AccountId, (string?)e["event"]!["accountId"]));

            // Interested again (the newest now): it hears of the next change; the oldest of the others is forgotten.
            await FetchDevicesAsync(silo, contacts[0], primary);
            using var primaryHttp = primary.CreateClient(silo);
            using var removed = await primaryHttp.DeleteAsync($"/v1/devices/{companion.DeviceId}", Cancel);
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
            var again = await sockets[0].NextAsync("deviceListChanged after the unlink, once interested again");
            var newest = await sockets[2].NextAsync("deviceListChanged after the unlink on the newest contact");
            await AssertNothingBeforeProbeAsync(silo, primary, contacts[1], sockets[1], "the now oldest contact should be forgotten");

            Assert.Equal("deviceListChanged", (string?)again["event"]!["type"]);
            Assert.Equal((long)heard[0]["event"]!["version"]! + 1, (long)again["event"]!["version"]!);
            Assert.Equal("deviceListChanged", (string?)newest["event"]!["type"]);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                await socket.DisposeAsync();
            }
        }
    }

    private static async Task FetchDevicesAsync(TestSilo silo, TestDevice requester, TestDevice target)
    {
        using var http = requester.CreateClient(silo);
        await http.GetFromJsonAsync<JsonObject>($"/v1/accounts/{Uri.EscapeDataString(target.AccountId)}/devices", Cancel);
    }

    /// <summary>The socket is live (a probe message arrives) and nothing came before the probe.</summary>
    private static async Task AssertNothingBeforeProbeAsync(TestSilo silo, TestDevice from, TestDevice to, TestSocket socket, string why)
    {
        // Sent from an account other than the primary, so that the probe adds no interest in the primary.
        var prober = await TestAccounts.RegisterAsync(silo);
        using var http = prober.CreateClient(silo);
        await Messages.SendOkAsync(http, to.AccountId, Messages.Body([to], "probe"), Cancel);
        var next = await socket.NextAsync("the probe message");
        Assert.True((string?)next["kind"] == "envelope", $"{why}; got {next.ToJsonString()} (primary {from.AccountId})");
    }
}
