using System.Globalization;
using Cluster.Client.Keys;

namespace Cluster.LoadTest.LinkChurn;

/// <summary>
/// What the primary hands the new device through the provisioning relay: the link token and its grant (linking
/// metadata, account signature, primary identity key). A real client encrypts this for the device's QR-code key; the
/// relay is opaque to the server either way, so the load test sends it in the clear.
/// </summary>
internal static class ProvisioningMessage
{
    public static string Write(string token, LinkGrant grant) => string.Join(
        '.',
        grant.KeyIndex.ToString(CultureInfo.InvariantCulture),
        Convert.ToBase64String(grant.LinkingMetadata),
        Convert.ToBase64String(grant.AccountSignature),
        Convert.ToBase64String(grant.PrimaryIdentityKey),
        token);

    public static (string Token, LinkGrant Grant) Read(string body, string accountId)
    {
        var parts = body.Split('.', 5);
        if (parts.Length != 5 || !uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var keyIndex))
        {
            throw new InvalidOperationException("the provisioning body is not one this tool sent");
        }

        var grant = new LinkGrant(accountId, keyIndex, Convert.FromBase64String(parts[1]), Convert.FromBase64String(parts[2]), Convert.FromBase64String(parts[3]));
        return (parts[4], grant);
    }
}
