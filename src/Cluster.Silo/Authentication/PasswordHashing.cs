using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;

namespace Cluster.Silo.Authentication;

/// <summary>Device password hashing; section <c>Auth</c>.</summary>
public sealed class PasswordHashingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Auth";

    /// <summary>PBKDF2-HMAC-SHA256 iterations for new hashes (stored hashes keep their own). Default: 100000.</summary>
    [Range(1_000, 10_000_000)]
    public int PasswordHashIterations { get; set; } = 100_000;

    /// <summary>
    /// The most full password hashes (a login not verified before on this silo, a registration, a link) computed at
    /// once; the rest wait in a queue of <see cref="HashQueueLimit"/>. Keeps hashing from taking every core, so that
    /// devices already verified are still served while failed logins flood in. Default: 0, meaning half the
    /// processors, at least 1.
    /// </summary>
    [Range(0, 1024)]
    public int MaxConcurrentHashes { get; set; }

    /// <summary>
    /// How many hashes may wait for one of the <see cref="MaxConcurrentHashes"/>; past it the request is answered 503
    /// <c>busy</c> with <c>Retry-After: 1</c> at once instead of queueing. Default: 16.
    /// </summary>
    [Range(0, 100_000)]
    public int HashQueueLimit { get; set; } = 16;

    /// <summary>The hashes computed at once: <see cref="MaxConcurrentHashes"/>, or half the processors when 0.</summary>
    public int ConcurrentHashes => MaxConcurrentHashes > 0 ? MaxConcurrentHashes : Math.Max(1, Environment.ProcessorCount / 2);
}

/// <summary>
/// Salted PBKDF2-HMAC-SHA256 from the BCL, compared in constant time. Stored as <c>pbkdf2-sha256$iterations$salt$hash</c>.
/// A slow hash on every request would cost tens of milliseconds each, so a successful check is remembered as a keyed
/// MAC of the password (with a random per-process key: the cache never holds the password or anything that would
/// reveal it offline) against the exact stored hash; a changed or revoked credential no longer matches it.
/// Every full hash passes one gate of <see cref="PasswordHashingOptions.ConcurrentHashes"/> with a short queue, so a
/// flood of wrong passwords costs at most that many cores; a device that is unknown is checked against a dummy hash
/// of the same cost, so that the time of a refusal does not tell which devices exist.
/// </summary>
internal sealed class PasswordHashing : IDisposable
{
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const int MaxCachedDevices = 200_000;

    private readonly int iterations;
    private readonly byte[] cacheKey = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, Verified> verified = new(StringComparer.Ordinal);
    private readonly ConcurrencyLimiter gate;
    private readonly string dummyHash;

    public PasswordHashing(IOptions<PasswordHashingOptions> options)
    {
        var settings = options.Value;
        iterations = settings.PasswordHashIterations;
        gate = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = settings.ConcurrentHashes,
            QueueLimit = settings.HashQueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        dummyHash = Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));
    }

    /// <summary>Hashes at once, outside the gate (tests and tools).</summary>
    public string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Hashes a new password through the gate; null when the gate and its queue are full.</summary>
    public async ValueTask<string?> HashAsync(string password, CancellationToken cancellationToken)
    {
        using var lease = await gate.AcquireAsync(1, cancellationToken);
        return lease.IsAcquired ? Hash(password) : null;
    }

    /// <summary>
    /// The stored hash <paramref name="password"/> was last verified against for the device <paramref name="address"/>
    /// on this silo, or null: no hashing, a keyed MAC and a lookup. The caller compares it with the current stored hash.
    /// </summary>
    public string? VerifiedHash(string address, string password)
    {
        var mac = Mac(Encoding.UTF8.GetBytes(password));
        return verified.TryGetValue(address, out var cached) && CryptographicOperations.FixedTimeEquals(cached.Mac, mac)
            ? cached.StoredHash
            : null;
    }

    /// <summary>
    /// Checks <paramref name="password"/> for the device <paramref name="address"/> against its stored hash, or against
    /// the dummy hash when the device does not exist (<paramref name="storedHash"/> null: always false). Null when the
    /// gate and its queue are full.
    /// </summary>
    public async ValueTask<bool?> VerifyAsync(string address, string password, string? storedHash, CancellationToken cancellationToken)
    {
        using var lease = await gate.AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
        {
            return null;
        }

        var passwordBytes = Encoding.UTF8.GetBytes(password);
        if (!VerifySlow(passwordBytes, storedHash ?? dummyHash) || storedHash is null)
        {
            return false;
        }

        if (verified.Count >= MaxCachedDevices)
        {
            verified.Clear();
        }

        verified[address] = new Verified(storedHash, Mac(passwordBytes));
        return true;
    }

    public void Dispose() => gate.Dispose();

    private byte[] Mac(byte[] password) => HMACSHA256.HashData(cacheKey, password);
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
