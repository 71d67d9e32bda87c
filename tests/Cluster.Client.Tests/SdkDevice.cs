using Cluster.Client.Keys;
using Cluster.Client.Messaging;
using Cluster.Testing;

namespace Cluster.Client.Tests;

/// <summary>A device as an SDK user holds it: its credentials and keys.</summary>
internal sealed record SdkDevice(DeviceCredentials Credentials, DeviceKeys Keys)
{
    public string AccountId => Credentials.AccountId;

    public int DeviceId => Credentials.DeviceId;

    public ClusterClient Client(Uri gateway) => new(gateway, Credentials);

    public DeviceCopy CopyFor(string text) => new(DeviceId, Keys.RegistrationId, 1, System.Text.Encoding.UTF8.GetBytes($"{text} for {Credentials.Login}"));

    public static async Task<SdkDevice> RegisterAsync(Uri gateway, int oneTimePreKeys = 0)
    {
        var keys = DeviceKeys.Generate();
        var password = DeviceKeys.NewPassword();
        using var anonymous = new ClusterClient(gateway);
        var accountId = TestAccounts.NewAccountId();
        await anonymous.RequestVerificationCodeAsync(accountId);
        var registration = keys.CreateRegistration(accountId, password, "phone", oneTimePreKeys) with { VerificationCode = TestAccounts.SentCode(accountId) };
        var registered = await anonymous.RegisterAsync(registration);
        return new SdkDevice(new DeviceCredentials(registered.AccountId, registered.DeviceId, password), keys);
    }

    /// <summary>Links a companion with a link token and both ADV signatures (the provisioning relay is left out; its own test covers it).</summary>
    public static async Task<SdkDevice> LinkAsync(Uri gateway, SdkDevice primary, uint keyIndex)
    {
        using var primaryClient = primary.Client(gateway);
        var token = await primaryClient.CreateLinkTokenAsync();
        var keys = DeviceKeys.Generate();
        var grant = primary.Keys.GrantLink(primary.AccountId, keyIndex, keys.IdentityKey, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var password = DeviceKeys.NewPassword();
        using var anonymous = new ClusterClient(gateway);
        var linked = await anonymous.LinkDeviceAsync(keys.CreateLinkRequest(grant, token.Token, password, "laptop", oneTimePreKeys: 2));
        return new SdkDevice(new DeviceCredentials(linked.AccountId, linked.DeviceId, password), keys);
    }

    /// <summary>A primary with <paramref name="companions"/> linked companions, primary first.</summary>
    public static async Task<List<SdkDevice>> AccountAsync(Uri gateway, int companions)
    {
        var primary = await RegisterAsync(gateway);
        var devices = new List<SdkDevice> { primary };
        for (var i = 1; i <= companions; i++)
        {
            devices.Add(await LinkAsync(gateway, primary, (uint)i));
        }

        return devices;
    }
}

/// <summary>Reads a connection's updates with timeouts that say what was expected.</summary>
internal static class Updates
{
    public static async Task<DeviceUpdate> NextAsync(this DeviceConnection connection, string expected, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            return await connection.Updates.ReadAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no update arrived; expected {expected}");
        }
    }

    public static async Task<T> NextAsync<T>(this DeviceConnection connection, string expected)
        where T : DeviceUpdate
    {
        var update = await connection.NextAsync(expected);
        return update as T ?? throw new InvalidOperationException($"expected {expected}, got {update}");
    }

    /// <summary>
    /// Why the connection stopped, within 20 s; if it does not stop, fails with every update it reported meanwhile (a
    /// close code other than the one expected shows as a Disconnected, a reconnect as a second Connected).
    /// </summary>
    public static async Task<DeviceConnectionStopReason> StoppedAsync(this DeviceConnection connection, string expected)
    {
        try
        {
            return await connection.Stopped.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            var seen = new List<string>();
            while (connection.Updates.TryRead(out var update))
            {
                seen.Add(update.ToString());
            }

            throw new TimeoutException($"the connection did not stop within 20 s; expected {expected}; it reported: {(seen.Count == 0 ? "nothing" : string.Join(", ", seen))}");
        }
    }

    /// <summary>Skips connection-state updates and returns the next envelope, event or queueEmpty.</summary>
    public static async Task<DeviceUpdate> NextContentAsync(this DeviceConnection connection, string expected)
    {
        while (true)
        {
            var update = await connection.NextAsync(expected);
            if (update is not (Connected or Disconnected))
            {
                return update;
            }
        }
    }

    /// <summary>The envelopes before the next queueEmpty.</summary>
    public static async Task<List<Envelope>> BacklogAsync(this DeviceConnection connection)
    {
        var envelopes = new List<Envelope>();
        while (true)
        {
            switch (await connection.NextContentAsync("envelopes, then queueEmpty"))
            {
                case QueueEmpty:
                    return envelopes;
                case EnvelopeReceived received:
                    envelopes.Add(received.Envelope);
                    break;
                case var other:
                    throw new InvalidOperationException($"unexpected before queueEmpty: {other}");
            }
        }
    }
}
