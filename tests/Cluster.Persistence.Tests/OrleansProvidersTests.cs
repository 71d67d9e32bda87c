using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Cluster.Persistence.Tests;

/// <summary>
/// Orleans' own ADO.NET grain storage and reminder providers, running on the project's scripts.
/// The concrete classes below run these tests per database and clustering setup.
/// </summary>
public abstract class OrleansProvidersTests(ProviderSiloFixture fixture)
{
    protected ProviderSilo Silo => fixture.Silo;

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WriteState_ThenReactivate_ReadsWrittenState()
    {
        var grain = Silo.Grains.GetGrain<IStateProbeGrain>(Guid.NewGuid());
        var first = await grain.WriteAsync("first");
        var second = await grain.WriteAsync("second");

        await grain.DeactivateAsync();
        var read = await grain.ReadAsync();

        Assert.NotEqual(second.ActivationId, read.ActivationId);
        Assert.Equal("second", read.Value);
        Assert.True(read.RecordExists);
        Assert.Equal(second.ETag, read.ETag);
        Assert.NotEqual(first.ETag, second.ETag);
    }

    [Fact]
    public async Task WriteState_StaleETag_ThrowsInconsistentStateException()
    {
        var grain = Silo.Grains.GetGrain<IStateProbeGrain>(Guid.NewGuid());
        await grain.WriteAsync("mine");
        var storage = Silo.Storage(ProviderSilo.StorageName);
        var theirs = new GrainState<ProbeState>();
        await storage.ReadStateAsync(StateProbeGrain.StateName, grain.GetGrainId(), theirs, Cancel);
        Assert.NotNull(theirs.State);
        theirs.State.Value = "theirs";
        await storage.WriteStateAsync(StateProbeGrain.StateName, grain.GetGrainId(), theirs, Cancel);

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.WriteAsync("stale"));

        await grain.DeactivateAsync();
        Assert.Equal("theirs", (await grain.ReadAsync()).Value);
    }

    [Fact]
    public async Task WriteState_NoETagButStateExists_ThrowsInconsistentStateException()
    {
        var grainId = GrainId.Create("probe-direct", "first-writer-" + Guid.NewGuid().ToString("N"));
        var storage = Silo.Storage(ProviderSilo.StorageName);
        await storage.WriteStateAsync("direct", grainId, new GrainState<ProbeState>(new ProbeState { Value = "winner" }), Cancel);

        // A second activation (a split brain) that read nothing before its first write.
        var loser = new GrainState<ProbeState>(new ProbeState { Value = "loser" });
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("direct", grainId, loser, Cancel));

        var read = new GrainState<ProbeState>();
        await storage.ReadStateAsync("direct", grainId, read, Cancel);
        Assert.Equal("winner", read.State?.Value);
    }

    [Fact]
    public async Task ClearState_ThenReactivate_ReadsDefaultStateAndCanWriteAgain()
    {
        var grain = Silo.Grains.GetGrain<IStateProbeGrain>(Guid.NewGuid());
        await grain.WriteAsync("doomed");

        var cleared = await grain.ClearAsync();
        await grain.DeactivateAsync();
        var read = await grain.ReadAsync();
        var rewritten = await grain.WriteAsync("again");

        Assert.Equal("", cleared.Value);
        Assert.False(cleared.RecordExists);
        Assert.NotEqual(cleared.ActivationId, read.ActivationId);
        Assert.Equal("", read.Value);
        Assert.False(read.RecordExists);
        Assert.Equal(cleared.ETag, read.ETag);
        Assert.Equal("again", rewritten.Value);
        Assert.True(rewritten.RecordExists);
    }

    [Fact]
    public async Task ClearState_DeleteStateOnClear_RemovesTheRowAndAllowsAFreshWrite()
    {
        var key = "string-key-" + Guid.NewGuid().ToString("N");
        var grainId = GrainId.Create("probe-direct", key);
        var storage = Silo.Storage(ProviderSilo.DeletingStorageName);
        var state = new GrainState<ProbeState>(new ProbeState { Value = "short-lived" });
        await storage.WriteStateAsync("direct", grainId, state, Cancel);
        var rowsBefore = await CountStateRowsAsync(key);

        await storage.ClearStateAsync("direct", grainId, state, Cancel);

        Assert.Equal(1, rowsBefore);
        Assert.Equal(0, await CountStateRowsAsync(key));
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        state.State = new ProbeState { Value = "reborn" };
        await storage.WriteStateAsync("direct", grainId, state, Cancel);
        var read = new GrainState<ProbeState>();
        await storage.ReadStateAsync("direct", grainId, read, Cancel);
        Assert.Equal("reborn", read.State?.Value);
    }

    [Fact]
    public async Task Reminder_RegisterUpdateReadUnregister_RoundTrips()
    {
        var grain = Silo.Grains.GetGrain<IStateProbeGrain>(Guid.NewGuid());
        var registeredAt = DateTime.UtcNow;
        await grain.RegisterReminderAsync("hourly", TimeSpan.FromHours(1));
        await grain.RegisterReminderAsync("other", TimeSpan.FromHours(1));
        var beforeUpdate = await Silo.Reminders.ReadRow(grain.GetGrainId(), "hourly", Cancel);
        await grain.RegisterReminderAsync("hourly", TimeSpan.FromHours(2));

        var entry = await Silo.Reminders.ReadRow(grain.GetGrainId(), "hourly", Cancel);
        Assert.NotNull(entry);
        Assert.NotNull(beforeUpdate);
        Assert.Equal("hourly", await grain.GetReminderAsync("hourly"));
        Assert.Equal(["hourly", "other"], await grain.GetReminderNamesAsync());
        Assert.Equal(TimeSpan.FromHours(2), entry.Period);
        Assert.InRange(entry.StartAt, registeredAt.AddHours(2).AddMinutes(-1), registeredAt.AddHours(2).AddMinutes(1));
        Assert.NotEqual(beforeUpdate.ETag, entry.ETag);

        await grain.UnregisterReminderAsync("hourly");

        Assert.Null(await grain.GetReminderAsync("hourly"));
        Assert.Equal(["other"], await grain.GetReminderNamesAsync());
    }

    [Fact]
    public async Task Reminder_ReadHashRanges_FindsReminderOnlyInRangesHoldingItsHash()
    {
        var grain = Silo.Grains.GetGrain<IStateProbeGrain>(Guid.NewGuid());
        await grain.RegisterReminderAsync("ranged", TimeSpan.FromHours(1));
        var hash = grain.GetGrainId().GetUniformHashCode();

        // (hash - 1, hash] does not wrap; (hash, hash - 1] wraps around the ring and leaves out only hash.
        var inside = await Silo.Reminders.ReadRows(unchecked(hash - 1), hash, Cancel);
        var outside = await Silo.Reminders.ReadRows(hash, unchecked(hash - 1), Cancel);
        var everything = await Silo.Reminders.ReadRows(hash, hash, Cancel);

        Assert.Contains(inside.Reminders, entry => entry.GrainId == grain.GetGrainId());
        Assert.DoesNotContain(outside.Reminders, entry => entry.GrainId == grain.GetGrainId());
        Assert.Contains(everything.Reminders, entry => entry.GrainId == grain.GetGrainId());
    }

    private async Task<long> CountStateRowsAsync(string key) =>
        long.Parse(
            (await Silo.Database.QueryAsync($"SELECT count(*) FROM orleans_grain_state WHERE grain_id_extension = '{key}'"))[0],
            System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Adds the membership checks for setups whose clustering also runs on the database.</summary>
public abstract class OrleansClusteringProvidersTests(ProviderSiloFixture fixture) : OrleansProvidersTests(fixture)
{
    [Fact]
    public async Task Membership_SiloStarted_IsActiveInTheTable()
    {
        var statuses = await Silo.Database.QueryAsync("SELECT status FROM orleans_membership");
        var versions = await Silo.Database.QueryAsync("SELECT version FROM orleans_membership_version");

        Assert.Equal(["3"], statuses);
        Assert.True(int.Parse(Assert.Single(versions), System.Globalization.CultureInfo.InvariantCulture) >= 2,
            "joining and becoming active should each have bumped the membership version");
    }

    [Fact]
    public async Task Client_AdoNetClustering_ReachesTheSiloThroughItsGateway()
    {
        using var client = await Silo.StartAdoNetClientAsync(Cancel);
        var grain = client.Services.GetRequiredService<IClusterClient>().GetGrain<IStateProbeGrain>(Guid.NewGuid());

        var written = await grain.WriteAsync("through the gateway");

        Assert.Equal("through the gateway", written.Value);
        await client.StopAsync(Cancel);
    }
}

public sealed class SqliteEmbeddedProvidersTests(SqliteEmbeddedSiloFixture fixture)
    : OrleansProvidersTests(fixture), IClassFixture<SqliteEmbeddedSiloFixture>;

public sealed class SqliteClusteringProvidersTests(SqliteAdoNetClusteringSiloFixture fixture)
    : OrleansClusteringProvidersTests(fixture), IClassFixture<SqliteAdoNetClusteringSiloFixture>;

public sealed class PostgreSqlProvidersTests(PostgreSqlSiloFixture fixture)
    : OrleansClusteringProvidersTests(fixture), IClassFixture<PostgreSqlSiloFixture>;
