using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Persistence.Inbox;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Messaging.Tests;

[Collection(SharedSilo.Name)]
public sealed class FanoutTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private IInboxStore Store => Silo.Services.GetRequiredService<IInboxStore>();

    [Fact]
    public async Task Send_ThreeDevicesToThreeDevices_EachDeviceGetsItsOwnCopyAndAcksEmptyTheQueues()
    {
        var a1 = await TestAccounts.RegisterAsync(Silo);
        var a2 = await TestAccounts.AddCompanionAsync(Silo, a1);
        var a3 = await TestAccounts.AddCompanionAsync(Silo, a1);
        var b1 = await TestAccounts.RegisterAsync(Silo);
        var b2 = await TestAccounts.AddCompanionAsync(Silo, b1);
        var b3 = await TestAccounts.AddCompanionAsync(Silo, b1);
        TestDevice[] receivers = [b1, b2, b3, a2, a3];
        var sockets = new Dictionary<TestDevice, TestSocket>();
        foreach (var device in receivers)
        {
            sockets[device] = await TestSocket.ConnectAsync(Silo, device, Cancel);
            Assert.Empty(await sockets[device].ReadBacklogAsync());
        }

        using var sender = a1.CreateClient(Silo);
        var toB = await Messages.SendOkAsync(sender, b1.AccountId, Messages.Body([b1, b2, b3], "hello"), Cancel);
        var sync = await Messages.SendOkAsync(sender, a1.AccountId, Messages.Body([a2, a3], "hello"), Cancel);

        Assert.True((bool)toB["needsSync"]!);
        Assert.False((bool)sync["needsSync"]!);
        foreach (var device in receivers)
        {
            var envelope = await sockets[device].NextEnvelopeAsync();
            Assert.Equal(Messages.Content("hello", device), Messages.ContentOf(envelope));
            Assert.Equal(device.DeviceId, (int)envelope["destinationDevice"]!);
            Assert.Equal(a1.AccountId, (string?)envelope["sourceAccount"]);
            Assert.Equal(1, (int)envelope["sourceDevice"]!);
            Assert.Equal(1, (int)envelope["type"]!);
            Assert.True((bool)envelope["urgent"]!);
            Assert.Equal(1_700_000_000_000, (long)envelope["timestamp"]!);
            Assert.True((long)envelope["serverTimestamp"]! > 0);
            Assert.True(Guid.TryParse((string?)envelope["id"], out _));
            await sockets[device].AckAsync([envelope]);
        }

        foreach (var device in receivers)
        {
            await WaitForEmptyQueueAsync(device);
            Assert.False(sockets[device].TryTake(out var extra), $"{device.Login} got more than its own copy: {extra?.ToJsonString()}");
            await sockets[device].DisposeAsync();
        }
    }

    [Fact]
    public async Task Fetch_OverHttp_ListsThenDeleteRemoves()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        using var sender = alice.CreateClient(Silo);
        using var receiver = bob.CreateClient(Silo);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "one"), Cancel);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob], "two"), Cancel);

        var page = await receiver.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);
        var envelopes = page!["envelopes"]!.AsArray().Select(e => e!.AsObject()).ToList();
        using var deleted = await receiver.DeleteAsync($"/v1/messages/{(string)envelopes[0]["id"]!}", Cancel);
        using var again = await receiver.DeleteAsync($"/v1/messages/{(string)envelopes[0]["id"]!}", Cancel);
        using var unknown = await receiver.DeleteAsync($"/v1/messages/{Guid.NewGuid()}", Cancel);
        using var malformed = await receiver.DeleteAsync("/v1/messages/not-a-uuid", Cancel);
        var after = await receiver.GetFromJsonAsync<JsonObject>("/v1/messages", Cancel);

        Assert.Equal(["one", "two"], envelopes.Select(e => Messages.ContentOf(e).Split(' ')[0]));
        Assert.False((bool)page["more"]!);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        var left = Assert.Single(after!["envelopes"]!.AsArray());
        Assert.Equal((string?)envelopes[1]["id"], (string?)left!["id"]);
    }

    public static TheoryData<string, int, int[], int[]> Mismatches() => new()
    {
        // which copies are sent (p: primary, c: companion, x: device 7 that does not exist), status, missing, extra
        { "p", 409, [2], [] },
        { "c", 409, [1], [] },
        { "", 409, [1, 2], [] },
        { "p,c,x", 409, [], [7] },
        { "p,x", 409, [2], [7] },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public async Task Send_WrongDeviceSet_ConflictListsDevicesAndStoresNothing(string copies, int status, int[] missing, int[] extra)
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        var bob2 = await TestAccounts.AddCompanionAsync(Silo, bob);
        var ghost = bob with { DeviceId = 7 };
        var named = copies.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => c switch { "p" => bob, "c" => bob2, _ => ghost });
        using var sender = alice.CreateClient(Silo);

        using var response = await Messages.SendAsync(sender, bob.AccountId, Messages.Body(named, "x"), Cancel);

        Assert.Equal(status, (int)response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal("mismatched_devices", (string?)answer!["error"]);
        Assert.Equal(missing, answer["missingDevices"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(extra, answer["extraDevices"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(0, await Store.CountAsync($"{bob.AccountId}.1", Cancel));
        Assert.Equal(0, await Store.CountAsync($"{bob.AccountId}.2", Cancel));
    }

    [Fact]
    public async Task Send_StaleRegistrationId_GoneListsDeviceAndStoresNothing()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        var bob2 = await TestAccounts.AddCompanionAsync(Silo, bob);
        using var sender = alice.CreateClient(Silo);

        using var response = await Messages.SendAsync(sender, bob.AccountId, Messages.Body([bob, bob2 with { RegistrationId = bob2.RegistrationId % 16380 + 1 }], "x"), Cancel);

        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal([2], answer!["staleDevices"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(0, await Store.CountAsync($"{bob.AccountId}.1", Cancel));
    }

    [Fact]
    public async Task Send_OwnAccountNamingSender_ConflictWithSenderExtra()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var alice2 = await TestAccounts.AddCompanionAsync(Silo, alice);
        using var sender = alice.CreateClient(Silo);

        using var response = await Messages.SendAsync(sender, alice.AccountId, Messages.Body([alice, alice2], "x"), Cancel);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal([1], answer!["extraDevices"]!.AsArray().Select(n => (int)n!));
    }

    [Theory]
    [InlineData("unknown-account", 404)]
    [InlineData("bad-account", 400)]
    [InlineData("type-zero", 400)]
    [InlineData("too-large", 413)]
    [InlineData("duplicate-device", 400)]
    [InlineData("no-timestamp", 400)]
    [InlineData("no-messages", 400)]
    [InlineData("bad-content", 400)]
    public async Task Send_BadRequest_ClientErrorAndNothingStored(string defect, int status)
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        using var sender = alice.CreateClient(Silo);
        var destination = bob.AccountId;
        var body = Messages.Body([bob], "x");
        switch (defect)
        {
            case "unknown-account": destination = TestAccounts.NewAccountId(); break;
            case "bad-account": destination = "12345"; break;
            case "type-zero": body["messages"]![0]!["type"] = 0; break;
            case "too-large": body["messages"]![0]!["content"] = Convert.ToBase64String(new byte[(96 * 1024) + 1]); break;
            case "duplicate-device": body["messages"]!.AsArray().Add(body["messages"]![0]!.DeepClone()); break;
            case "no-timestamp": body.Remove("timestamp"); break;
            case "no-messages": body.Remove("messages"); break;
            case "bad-content": body["messages"]![0]!["content"] = "%%%"; break;
        }

        using var response = await Messages.SendAsync(sender, destination, body, Cancel);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.NotNull((string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["error"]);
        Assert.Equal(0, await Store.CountAsync($"{bob.AccountId}.1", Cancel));
    }

    [Fact]
    public async Task Send_SameClientMessageIdFiveTimesConcurrently_OneEnvelopePerDevice()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var alice2 = await TestAccounts.AddCompanionAsync(Silo, alice);
        var bob = await TestAccounts.RegisterAsync(Silo);
        var bob2 = await TestAccounts.AddCompanionAsync(Silo, bob);
        using var sender = alice.CreateClient(Silo);
        var body = Messages.Body([bob, bob2], "once", clientMessageId: "msg-1");

        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Messages.SendOkAsync(sender, bob.AccountId, body, Cancel)));
        var later = await Messages.SendOkAsync(sender, bob.AccountId, body, Cancel);

        Assert.All(answers.Append(later), a => Assert.True((bool)a["needsSync"]!));
        Assert.Equal(1, await Store.CountAsync($"{bob.AccountId}.1", Cancel));
        Assert.Equal(1, await Store.CountAsync($"{bob.AccountId}.2", Cancel));
        _ = alice2;

        // Another id is another message.
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob, bob2], "twice", clientMessageId: "msg-2"), Cancel);
        Assert.Equal(2, await Store.CountAsync($"{bob.AccountId}.1", Cancel));
    }

    [Fact]
    public async Task Send_RefusedThenRetriedWithSameClientMessageId_Stored()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        var bob2 = await TestAccounts.AddCompanionAsync(Silo, bob);
        using var sender = alice.CreateClient(Silo);

        using var refused = await Messages.SendAsync(sender, bob.AccountId, Messages.Body([bob], "x", clientMessageId: "retry-me"), Cancel);
        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob, bob2], "x", clientMessageId: "retry-me"), Cancel);

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal(1, await Store.CountAsync($"{bob.AccountId}.1", Cancel));
        Assert.Equal(1, await Store.CountAsync($"{bob.AccountId}.2", Cancel));
    }

    [Fact]
    public async Task Send_Online_DeliveredToConnectedDevicesOnlyAndNeverStored()
    {
        var alice = await TestAccounts.RegisterAsync(Silo);
        var bob = await TestAccounts.RegisterAsync(Silo);
        var bob2 = await TestAccounts.AddCompanionAsync(Silo, bob);
        await using var socket = await TestSocket.ConnectAsync(Silo, bob, Cancel);
        await socket.ReadBacklogAsync();
        using var sender = alice.CreateClient(Silo);

        await Messages.SendOkAsync(sender, bob.AccountId, Messages.Body([bob, bob2], "typing", online: true), Cancel);

        var envelope = await socket.NextEnvelopeAsync();
        Assert.Equal(Messages.Content("typing", bob), Messages.ContentOf(envelope));
        Assert.Equal(0, await Store.CountAsync($"{bob.AccountId}.1", Cancel));
        Assert.Equal(0, await Store.CountAsync($"{bob.AccountId}.2", Cancel));
        await using var late = await TestSocket.ConnectAsync(Silo, bob2, Cancel);
        Assert.Empty(await late.ReadBacklogAsync());
    }

    private async Task WaitForEmptyQueueAsync(TestDevice device)
    {
        // Acks travel over the socket with no answer; the delete is observable only in the table.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await Store.CountAsync($"{device.AccountId}.{device.DeviceId}", Cancel) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{device.Login}'s queue should be empty after its ack");
            await Task.Delay(20, Cancel);
        }
    }
}
