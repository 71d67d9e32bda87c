using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Cluster.Silo.Authentication;

/// <summary>Device password hashing; section <c>Auth</c>.</summary>
public sealed class PasswordHashingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Auth";

    /// <summary>PBKDF2-HMAC-SHA256 iterations for new hashes (stored hashes keep their own). Default: 100000.</summary>
    [Range(1_000, 10_000_000)]
    public int PasswordHashIterations { get; set; } = 100_000;
}

/// <summary>
/// Salted PBKDF2-HMAC-SHA256 from the BCL, compared in constant time. Stored as <c>pbkdf2-sha256$iterations$salt$hash</c>.
/// A slow hash on every request would cost tens of milliseconds each, so a successful check is remembered as a keyed
/// MAC of the password (with a random per-process key: the cache never holds the password or anything that would
/// reveal it offline) against the exact stored hash; a changed or revoked credential no longer matches it.
/// </summary>
internal sealed class PasswordHashing(Microsoft.Extensions.Options.IOptions<PasswordHashingOptions> options)
{
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const int MaxCachedDevices = 200_000;

    private readonly byte[] cacheKey = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, Verified> verified = new(StringComparer.Ordinal);

    public string Hash(string password)
    {
        var iterations = options.Value.PasswordHashIterations;
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Checks <paramref name="password"/> for the device <paramref name="address"/> against its stored hash.</summary>
    public bool Verify(string address, string password, string storedHash)
    {
        var passwordBytes = Encoding.UTF8.GetBytes(password);
        var mac = HMACSHA256.HashData(cacheKey, passwordBytes);
        if (verified.TryGetValue(address, out var cached)
            && string.Equals(cached.StoredHash, storedHash, StringComparison.Ordinal)
            && CryptographicOperations.FixedTimeEquals(cached.Mac, mac))
        {
            return true;
        }

        if (!VerifySlow(passwordBytes, storedHash))
        {
            return false;
        }

        if (verified.Count >= MaxCachedDevices)
        {
            verified.Clear();
        }

        verified[address] = new Verified(storedHash, mac);
        return true;
    }

    private static bool VerifySlow(byte[] password, string storedHash)
    {
        var parts = storedHash.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var iterations))
        {
            return false;
        }

        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private sealed record Verified(string StoredHash, byte[] Mac);
}
