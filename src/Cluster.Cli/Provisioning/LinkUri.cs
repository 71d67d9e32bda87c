using System.Buffers.Text;

namespace Cluster.Cli.Provisioning;

/// <summary>What the new device's QR code holds: <c>cluster://link?address=...&amp;pub=...</c>.</summary>
public static class LinkUri
{
    /// <summary>The link for a provisioning <paramref name="address"/> and the new device's identity public key.</summary>
    /// <param name="address">The provisioning address (base64url, as the server sent it).</param>
    /// <param name="identityPublicKey">The new device's identity key, 33 bytes (<c>0x05 || X25519 key</c>).</param>
    /// <returns>The link, with the key in base64url without padding.</returns>
    public static string Create(string address, ReadOnlySpan<byte> identityPublicKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        return $"cluster://link?address={Uri.EscapeDataString(address)}&pub={Base64Url.EncodeToString(identityPublicKey)}";
    }
}
