namespace Cluster.Persistence.Tests;

/// <summary>A grain that exposes its persistent state and reminders to the tests.</summary>
[Alias("Cluster.Persistence.Tests.IStateProbeGrain")]
public interface IStateProbeGrain : IGrainWithGuidKey
{
    [Alias("Read")]
    Task<ProbeSnapshot> ReadAsync();

    [Alias("Write")]
    Task<ProbeSnapshot> WriteAsync(string value);

    [Alias("Clear")]
    Task<ProbeSnapshot> ClearAsync();

    [Alias("Deactivate")]
    Task DeactivateAsync();

    [Alias("RegisterReminder")]
    Task RegisterReminderAsync(string name, TimeSpan period);

    /// <summary>The reminder's name, or null when the grain has no reminder by that name.</summary>
    [Alias("GetReminder")]
    Task<string?> GetReminderAsync(string name);

    [Alias("GetReminderNames")]
    Task<IReadOnlyList<string>> GetReminderNamesAsync();

    [Alias("UnregisterReminder")]
    Task UnregisterReminderAsync(string name);
}

/// <summary>The probe's state as its current activation sees it.</summary>
[GenerateSerializer, Immutable, Alias("Cluster.Persistence.Tests.ProbeSnapshot")]
public sealed record ProbeSnapshot(
    [property: Id(0)] string Value,
    [property: Id(1)] string? ETag,
    [property: Id(2)] bool RecordExists,
    [property: Id(3)] Guid ActivationId);

[GenerateSerializer, Alias("Cluster.Persistence.Tests.ProbeState")]
public sealed class ProbeState
{
    [Id(0)]
    public string Value { get; set; } = "";
}

public sealed class StateProbeGrain(
    [PersistentState(StateProbeGrain.StateName, ProviderSilo.StorageName)] IPersistentState<ProbeState> state)
    : Grain, IStateProbeGrain, IRemindable
{
    public const string StateName = "probe";

    private readonly Guid activationId = Guid.NewGuid();

    public Task<ProbeSnapshot> ReadAsync() => Task.FromResult(Snapshot());

    public async Task<ProbeSnapshot> WriteAsync(string value)
    {
        state.State.Value = value;
        await state.WriteStateAsync();
        return Snapshot();
    }

    public async Task<ProbeSnapshot> ClearAsync()
    {
        await state.ClearStateAsync();
        return Snapshot();
    }

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task RegisterReminderAsync(string name, TimeSpan period) =>
        this.RegisterOrUpdateReminder(name, dueTime: period, period: period);

    public async Task<string?> GetReminderAsync(string name) => (await this.GetReminder(name))?.ReminderName;

    public async Task<IReadOnlyList<string>> GetReminderNamesAsync() =>
        (await this.GetReminders()).Select(reminder => reminder.ReminderName).Order(StringComparer.Ordinal).ToList();

    public async Task UnregisterReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name) ?? throw new InvalidOperationException($"No reminder '{name}'.");
        await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    private ProbeSnapshot Snapshot() => new(state.State.Value, state.Etag, state.RecordExists, activationId);
}
