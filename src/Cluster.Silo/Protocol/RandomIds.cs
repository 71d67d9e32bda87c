using System.Buffers.Text;
using System.Security.Cryptography;

namespace Cluster.Silo.Protocol;

/// <summary>
/// The unguessable ids the silo hands out (blob ids, provisioning addresses): 16 random bytes (128 bits) in base64url
/// without padding, 22 characters. Whoever knows one may use what it names, so it is never derived from anything.
/// </summary>
internal static class RandomIds
{
    private const int Bytes = 16;

    public static string New() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(Bytes));

    public static bool IsValid(string? id) => id is { Length: 22 } && Base64Url.IsValid(id, out var decodedLength) && decodedLength == Bytes;
}
