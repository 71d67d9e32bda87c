using Cluster.Abstractions.Groups;
using Cluster.Testing;
using static Cluster.Groups.Tests.GroupEvents;
using static Cluster.Groups.Tests.Groups;

namespace Cluster.Groups.Tests;

/// <summary><c>groupChanged</c> to every member device, and the system removal account deletion uses.</summary>
public sealed class GroupEventTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Create_MemberWithTwoDevices_BothGetGroupChanged()
    {
        var people = await AccountsAsync(fixture.Silo, 2);
        var companion = await TestAccounts.AddCompanionAsync(fixture.Silo, people[1]);
        await using var primarySocket = await TestSocket.ConnectAsync(fixture.Silo, people[1], Cancel);
        await using var companionSocket = await TestSocket.ConnectAsync(fixture.Silo, companion, Cancel);
        await primarySocket.ReadBacklogAsync();
        await companionSocket.ReadBacklogAsync();
        using var a = people[0].CreateClient(fixture.Silo);

        var groupId = await CreatedAsync(a, people[1].AccountId);
        var onPrimary = await NextGroupChangedAsync(primarySocket);
        var onCompanion = await NextGroupChangedAsync(companionSocket);

        Assert.Equal((groupId, 1L), ((string?)onPrimary["groupId"], (long)onPrimary["membershipVersion"]!));
        Assert.Equal((groupId, 1L), ((string?)onCompanion["groupId"], (long)onCompanion["membershipVersion"]!));
    }

    [Fact]
    public async Task RemoveBySystem_AdminAccount_HeirBecomesAdminAndListsForget()
    {
        var people = await AccountsAsync(fixture.Silo, 2);
        await using var heirSocket = await TestSocket.ConnectAsync(fixture.Silo, people[1], Cancel);
        await heirSocket.ReadBacklogAsync();
        using var a = people[0].CreateClient(fixture.Silo);
        using var b = people[1].CreateClient(fixture.Silo);
        var groupId = await CreatedAsync(a, people[1].AccountId);
        await NextGroupChangedAsync(heirSocket);

        var groups = await fixture.Silo.Grains.GetGrain<IAccountGroupsGrain>(people[0].AccountId).GetGroupsAsync();
        foreach (var g in groups)
        {
            await fixture.Silo.Grains.GetGrain<IGroupGrain>(g).RemoveBySystemAsync(people[0].AccountId);
        }

        var changed = await NextGroupChangedAsync(heirSocket);
        var (_, group) = await SendAsync(b, HttpMethod.Get, $"/v1/groups/{groupId}");
        var after = await fixture.Silo.Grains.GetGrain<IAccountGroupsGrain>(people[0].AccountId).GetGroupsAsync();

        Assert.Equal([groupId], groups);
        Assert.Equal(2, (long)changed["membershipVersion"]!);
        Assert.Equal([people[1].AccountId], Strings(group["admins"]));
        Assert.Equal([people[1].AccountId], Strings(group["members"]));
        Assert.Empty(after);
    }
}
