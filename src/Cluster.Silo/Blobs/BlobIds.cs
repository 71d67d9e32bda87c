using System.Buffers.Text;
using System.Security.Cryptography;

namespace Cluster.Silo.Blobs;

/// <summary>A blob id: 16 random bytes (128 bits) in base64url without padding (22 characters).</summary>
internal static class BlobIds
{
    private const int Bytes = 16;

    public static string New() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(Bytes));

    public static bool IsValid(string? id) => id is { Length: 22 } && Base64Url.IsValid(id, out var decodedLength) && decodedLength == Bytes;
}
