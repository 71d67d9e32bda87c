using System.Net.Http.Headers;
using System.Text;

namespace Cluster.Client;

/// <summary>What a device authenticates with: its address and its password.</summary>
/// <param name="AccountId">The account's E.164 number.</param>
/// <param name="DeviceId">The device id; 1 is the primary.</param>
/// <param name="Password">The password the client chose at registration or linking.</param>
public sealed record DeviceCredentials(string AccountId, int DeviceId, string Password)
{
    /// <summary>The device address, <c>accountId.deviceId</c>, used as the Basic user name.</summary>
    public string Login => $"{AccountId}.{DeviceId}";

    /// <summary>The <c>Authorization: Basic</c> header value for this device.</summary>
    public AuthenticationHeaderValue ToAuthorizationHeader() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Login}:{Password}")));

    /// <summary>Hides the password.</summary>
    public override string ToString() => Login;
}
