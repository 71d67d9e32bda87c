using Cluster.Abstractions;
using Cluster.Abstractions.Accounts;
using Cluster.Abstractions.Devices;
using Cluster.Abstractions.Groups;
using Cluster.Grains.Messaging;
using Cluster.Grains.Observability;
using Cluster.Persistence.Inbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cluster.Grains.Groups;

/// <summary>
/// One group's membership (see <see cref="IGroupGrain"/>). Not reentrant: each call checks rights, changes the state,
/// persists it, records the change in each affected account's <see cref="IAccountGroupsGrain"/>, and only then tells
/// the member devices <c>groupChanged</c> (live events only, best effort: a device offline then fetches the group when
/// it next sends or reconnects). Bounded by <see cref="GroupOptions.MaxMembers"/>. Calls the account grains (does a new
/// member exist, which devices to tell) and the device grains (events; the copies of a group send, GroupGrain.Send.cs).
/// An activation of an id no group has stays <see cref="AbsentLinger"/> after a call found it absent, then goes.
/// </summary>
internal sealed partial class GroupGrain(
    [PersistentState("group", GrainStorage.Name)] IPersistentState<GroupState> state,
    IOptions<GroupOptions> options,
    IOptions<MessagingOptions> messaging,
    IGroupBodyStore bodies,
    [FromKeyedServices(ClusterClock.Key)] TimeProvider time,
    ILogger<GroupGrain> logger) : Grain, IGroupGrain
{
    // How long an activation of an id no group has (never made, refused at creation, or ended) stays after a call found
    // it absent. Not 0: calls queued behind that call would each be forwarded to a new activation that went away as
    // well, until Orleans rejected them (the gateway answers that 503). Short, so random ids do not pile up in memory.
    private static readonly TimeSpan AbsentLinger = TimeSpan.FromSeconds(2);

    private IGrainTimer? absentTimer;

    private GroupState Group => state.State;

    private string GroupId => this.GetPrimaryKeyString();

    public async Task<GroupResult> CreateAsync(string creator, IReadOnlyList<string> members, byte[] info)
    {
        if (Group.Exists)
        {
            throw new InvalidOperationException("this group id is in use; every group needs a fresh one");
        }

        var all = new List<string> { creator };
        foreach (var member in members)
        {
            if (!all.Contains(member, StringComparer.Ordinal))
            {
                all.Add(member);
            }
        }

        if (all.Count > options.Value.MaxMembers)
        {
            ClusterMetrics.GroupLimitHits.Add(1, new KeyValuePair<string, object?>("limit", "members"));
            DeactivateSoonIfAbsent();
            return GroupResult.Of(GroupStatus.Full);
        }

        if (await FirstUnknownAsync(all.Skip(1)) is { } unknown)
        {
            DeactivateSoonIfAbsent();
            return new GroupResult { Status = GroupStatus.UnknownAccount, Account = unknown };
        }

        if (await FirstAtGroupCapAsync(all) is { } full)
        {
            DeactivateSoonIfAbsent();
            return new GroupResult { Status = GroupStatus.TooManyGroups, Account = full };
        }

        state.State = new GroupState { Exists = true, Members = all, Admins = [creator], MembershipVersion = 1, Info = info, InfoVersion = info.Length == 0 ? 0 : 1 };
        await state.WriteStateAsync();
        await Task.WhenAll(all.Select(m => GrainFactory.GetGrain<IAccountGroupsGrain>(m).JoinedAsync(GroupId)));
        ClusterMetrics.GroupsCreated.Add(1);
        return await ChangedAsync(all);
    }

    public Task<GroupResult> GetAsync(string actor) => Task.FromResult(
        Refusal(actor, adminOnly: false) is { } refusal ? GroupResult.Of(refusal) : new GroupResult { Status = GroupStatus.Done, Group = View() });

    public async Task<GroupResult> AddMembersAsync(string actor, IReadOnlyList<string> members)
    {
        if (Refusal(actor, adminOnly: true) is { } refusal)
        {
            return GroupResult.Of(refusal);
        }

        var added = members.Distinct(StringComparer.Ordinal).Where(m => !IsMember(m)).ToList();
        if (added.Count == 0)
        {
            return new GroupResult { Status = GroupStatus.Done, Group = View() };
        }

        if (Group.Members.Count + added.Count > options.Value.MaxMembers)
        {
            ClusterMetrics.GroupLimitHits.Add(1, new KeyValuePair<string, object?>("limit", "members"));
            return GroupResult.Of(GroupStatus.Full);
        }

        if (await FirstUnknownAsync(added) is { } unknown)
        {
            return new GroupResult { Status = GroupStatus.UnknownAccount, Account = unknown };
        }

        if (await FirstAtGroupCapAsync(added) is { } full)
        {
            return new GroupResult { Status = GroupStatus.TooManyGroups, Account = full };
        }

        Group.Members.AddRange(added);
        Group.MembershipVersion++;
        await state.WriteStateAsync();
        await Task.WhenAll(added.Select(m => GrainFactory.GetGrain<IAccountGroupsGrain>(m).JoinedAsync(GroupId)));
        return await ChangedAsync(Group.Members);
    }

    public async Task<GroupResult> RemoveMemberAsync(string actor, string member)
    {
        if (Refusal(actor, adminOnly: !string.Equals(actor, member, StringComparison.Ordinal)) is { } refusal)
        {
            return GroupResult.Of(refusal);
        }

        return IsMember(member) ? await RemoveAsync(member) : GroupResult.Of(GroupStatus.NoSuchMember);
    }

    public async Task<GroupResult> LeaveAsync(string actor) =>
        Refusal(actor, adminOnly: false) is { } refusal ? GroupResult.Of(refusal) : await RemoveAsync(actor);

    public async Task<GroupResult> SetAdminAsync(string actor, string member, bool admin)
    {
        if (Refusal(actor, adminOnly: true) is { } refusal)
        {
            return GroupResult.Of(refusal);
        }

        if (!IsMember(member))
        {
            return GroupResult.Of(GroupStatus.NoSuchMember);
        }

        var isAdmin = Group.Admins.Contains(member, StringComparer.Ordinal);
        if (isAdmin == admin)
        {
            return new GroupResult { Status = GroupStatus.Done, Group = View() };
        }

        if (!admin && Group.Admins.Count == 1)
        {
            return GroupResult.Of(GroupStatus.LastAdmin);
        }

        if (admin)
        {
            Group.Admins.Add(member);
        }
        else
        {
            Group.Admins.Remove(member);
        }

        Group.MembershipVersion++;
        await state.WriteStateAsync();
        return await ChangedAsync(Group.Members);
    }

    public async Task<GroupResult> SetInfoAsync(string actor, byte[] info, long expectedVersion)
    {
        if (Refusal(actor, adminOnly: true) is { } refusal)
        {
            return GroupResult.Of(refusal);
        }

        if (expectedVersion != Group.InfoVersion)
        {
            return GroupResult.Of(GroupStatus.InfoVersionConflict);
        }

        Group.Info = info;
        Group.InfoVersion++;
        await state.WriteStateAsync();
        return await ChangedAsync(Group.Members);
    }

    public async Task RemoveBySystemAsync(string member)
    {
        if (Group.Exists && IsMember(member))
        {
            // The member's account is being deleted, by a call that waits for this one: asking it for its devices now
            // would wait for that call (the account grain is not reentrant), and it has none left to tell anyway.
            await RemoveAsync(member, tellRemoved: false);
        }
        else
        {
            // A stale entry of the account's group list (a crash between the two writes): forget it.
            await GrainFactory.GetGrain<IAccountGroupsGrain>(member).LeftAsync(GroupId);
        }
    }

    /// <summary>Removes a member; the oldest remaining member becomes admin when no admin remains; the group ends with its last member.</summary>
    private async Task<GroupResult> RemoveAsync(string member, bool tellRemoved = true)
    {
        Group.Members.Remove(member);
        Group.Admins.Remove(member);
        if (Group.Admins.Count == 0 && Group.Members.Count > 0)
        {
            Group.Admins.Add(Group.Members[0]);
        }

        Group.MembershipVersion++;
        var ended = Group.Members.Count == 0;
        if (ended)
        {
            await state.ClearStateAsync();
        }
        else
        {
            await state.WriteStateAsync();
        }

        await GrainFactory.GetGrain<IAccountGroupsGrain>(member).LeftAsync(GroupId);
        if (ended)
        {
            DeactivateSoonIfAbsent();
            return new GroupResult { Status = GroupStatus.Done };
        }

        // The removed member's devices are told too, so they stop sending to the group.
        var view = View();
        await NotifyAsync(tellRemoved ? [.. Group.Members, member] : Group.Members, view);
        return new GroupResult { Status = GroupStatus.Done, Group = view };
    }

    private GroupStatus? Refusal(string actor, bool adminOnly)
    {
        if (!Group.Exists)
        {
            DeactivateSoonIfAbsent();
            return GroupStatus.NotFound;
        }

        if (!IsMember(actor))
        {
            return GroupStatus.NotMember;
        }

        return adminOnly && !Group.Admins.Contains(actor, StringComparer.Ordinal) ? GroupStatus.NotAdmin : null;
    }

    /// <summary>Deactivates this activation <see cref="AbsentLinger"/> from now unless a group was made under its id meanwhile.</summary>
    private void DeactivateSoonIfAbsent() => absentTimer ??= this.RegisterGrainTimer(
        static (grain, _) => grain.DeactivateIfAbsentAsync(), this, new GrainTimerCreationOptions(AbsentLinger, Timeout.InfiniteTimeSpan));

    private Task DeactivateIfAbsentAsync()
    {
        absentTimer?.Dispose();
        absentTimer = null;
        if (!Group.Exists)
        {
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }

    private bool IsMember(string account) => Group.Members.Contains(account, StringComparer.Ordinal);

    private async Task<string?> FirstUnknownAsync(IEnumerable<string> accounts)
    {
        var list = accounts.ToList();
        var sets = await Task.WhenAll(list.Select(a => GrainFactory.GetGrain<IAccountGrain>(a).GetDeviceSetAsync()));
        for (var i = 0; i < list.Count; i++)
        {
            if (!sets[i].Exists)
            {
                return list[i];
            }
        }

        return null;
    }

    /// <summary>The first of <paramref name="accounts"/> already in <see cref="GroupOptions.MaxGroupsPerAccount"/> groups, counted in the hit metric.</summary>
    private async Task<string?> FirstAtGroupCapAsync(List<string> accounts)
    {
        var lists = await Task.WhenAll(accounts.Select(a => GrainFactory.GetGrain<IAccountGroupsGrain>(a).GetGroupsAsync()));
        for (var i = 0; i < accounts.Count; i++)
        {
            if (lists[i].Count >= options.Value.MaxGroupsPerAccount)
            {
                ClusterMetrics.GroupLimitHits.Add(1, new KeyValuePair<string, object?>("limit", "groups_per_account"));
                return accounts[i];
            }
        }

        return null;
    }

    private async Task<GroupResult> ChangedAsync(IReadOnlyList<string> notify)
    {
        var view = View();
        await NotifyAsync(notify, view);
        return new GroupResult { Status = GroupStatus.Done, Group = view };
    }

    /// <summary>Tells every device of <paramref name="accounts"/> <c>groupChanged</c>; live only, failures logged and ignored.</summary>
    private async Task NotifyAsync(IReadOnlyList<string> accounts, GroupView view)
    {
        var json = EventJson.GroupChanged(GroupId, view.MembershipVersion, view.InfoVersion);
        try
        {
            var sets = await Task.WhenAll(accounts.Select(a => GrainFactory.GetGrain<IAccountGrain>(a).GetDeviceSetAsync()));
            var sends = new List<Task<bool>>();
            for (var i = 0; i < sets.Length; i++)
            {
                foreach (var deviceId in sets[i].DeviceIds)
                {
                    sends.Add(GrainFactory.GetGrain<IDeviceGrain>(new DeviceAddress(accounts[i], deviceId).GrainKey).TryPublishEventAsync(json));
                }
            }

            await Task.WhenAll(sends);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            LogNotifyFailed(logger, ex, GroupId);
        }
    }

    private GroupView View() => new()
    {
        GroupId = GroupId,
        Members = [.. Group.Members.Order(StringComparer.Ordinal)],
        Admins = [.. Group.Admins.Order(StringComparer.Ordinal)],
        MembershipVersion = Group.MembershipVersion,
        Info = Group.Info,
        InfoVersion = Group.InfoVersion,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell every member device of group {GroupId} that it changed")]
    private static partial void LogNotifyFailed(ILogger logger, Exception ex, string groupId);
}
