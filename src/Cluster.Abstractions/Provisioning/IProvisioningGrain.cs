namespace Cluster.Abstractions.Provisioning;

/// <summary>
/// One provisioning address (key: the address, base64url of 16 random bytes): a new device waiting, on some silo's
/// socket, for the provisioning body its account's primary sends. The address is single use: once a body went through,
/// or the waiting socket left, nothing is relayed to it again.
/// </summary>
[Alias("IProvisioningGrain")]
public interface IProvisioningGrain : IGrainWithStringKey
{
    /// <summary>
    /// Attaches the waiting socket; the address accepts a body until <paramref name="expiresAt"/>. False when the
    /// address has been used up already (then the socket must not wait on it).
    /// </summary>
    [Alias("Attach")]
    Task<bool> AttachAsync(IProvisioningSocket socket, DateTimeOffset expiresAt);

    /// <summary>Whether a socket is attached (false after a reactivation elsewhere: the socket attaches again).</summary>
    [Alias("Ping")]
    Task<bool> PingAsync();

    /// <summary>
    /// Relays <paramref name="body"/> to the waiting socket and forgets it. False when no socket waits at this address:
    /// none ever attached, a body went through already, the socket left, or the address expired.
    /// </summary>
    [Alias("Provision")]
    Task<bool> ProvisionAsync(string body);

    /// <summary>The socket is gone (closed by the device, expired, or its silo shuts down): the address is used up.</summary>
    [Alias("Detach")]
    Task DetachAsync();
}

/// <summary>
/// A waiting provisioning socket, as its grain sees it: an observer living on the silo that holds the socket.
/// One-way: the grain never waits on a socket.
/// </summary>
[Alias("IProvisioningSocket")]
public interface IProvisioningSocket : IGrainObserver
{
    /// <summary>Sends <c>{"kind":"provision","body":...}</c> on the socket, then closes it (1000).</summary>
    [Orleans.Concurrency.OneWay, Alias("Provision")]
    Task ProvisionAsync(string body);
}
