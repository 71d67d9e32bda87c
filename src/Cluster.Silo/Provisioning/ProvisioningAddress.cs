using System.Buffers.Text;
using System.Security.Cryptography;

namespace Cluster.Silo.Provisioning;

/// <summary>A provisioning address: 16 random bytes in base64url without padding (22 characters).</summary>
internal static class ProvisioningAddress
{
    private const int Bytes = 16;

    public static string New() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(Bytes));

    public static bool IsValid(string? address) =>
        address is { Length: 22 } && Base64Url.IsValid(address, out var decodedLength) && decodedLength == Bytes;
}
