using System.Text;
using Cluster.Client;
using Cluster.Client.Groups;
using Cluster.Testing;

namespace Cluster.Groups.Tests;

/// <summary>The SDK's group calls against a real silo.</summary>
public sealed class GroupClientTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendGroupMessage_ThroughSdk_DeliveredWithGroupIdAndMismatchThrowsPerAccount()
    {
        var people = await Groups.AccountsAsync(fixture.Silo, 3);
        var companion = await TestAccounts.AddCompanionAsync(fixture.Silo, people[1]);
        using var alice = Client(people[0]);
        using var bob = Client(companion);

        var group = await alice.CreateGroupAsync([people[1].AccountId, people[2].AccountId], cancellationToken: Cancel);
        var mismatch = await Assert.ThrowsAsync<GroupViewMismatchException>(() => alice.SendGroupMessageAsync(group.GroupId, Message(
            new GroupRecipient(people[0].AccountId, []), new GroupRecipient(people[1].AccountId, [new(1, people[1].RegistrationId)])), Cancel));
        await alice.SendGroupMessageAsync(group.GroupId, Message(
            new GroupRecipient(people[0].AccountId, []),
            new GroupRecipient(people[1].AccountId, [new(1, people[1].RegistrationId), new(companion.DeviceId, companion.RegistrationId)]),
            new GroupRecipient(people[2].AccountId, [new(1, people[2].RegistrationId)])), Cancel);
        var page = await bob.GetMessagesAsync(Cancel);
        var after = await alice.RemoveGroupMemberAsync(group.GroupId, people[2].AccountId, Cancel);

        Assert.Equal([people[2].AccountId], mismatch.MissingMembers);
        var account = Assert.Single(mismatch.Accounts);
        Assert.Equal(people[1].AccountId, account.AccountId);
        Assert.Equal([companion.DeviceId], account.MissingDevices);
        var envelope = Assert.Single(page.Envelopes);
        Assert.Equal((group.GroupId, 7, "hello group"), (envelope.GroupId, envelope.Type, Encoding.UTF8.GetString(envelope.Content)));
        Assert.Equal(2, after!.Members.Count);
        Assert.Contains(group.GroupId, await bob.ListGroupsAsync(Cancel));
    }

    private ClusterClient Client(TestDevice device) =>
        new(fixture.Silo.BaseAddress, new DeviceCredentials(device.AccountId, device.DeviceId, device.Password));

    private static GroupMessage Message(params GroupRecipient[] recipients) => new()
    {
        Recipients = recipients,
        Content = Encoding.UTF8.GetBytes("hello group"),
        Timestamp = 1_700_000_000_000,
    };
}
