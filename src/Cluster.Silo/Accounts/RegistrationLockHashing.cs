using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Cluster.Abstractions.Accounts;
using Cluster.Grains.Accounts;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;

namespace Cluster.Silo.Accounts;

/// <summary>
/// Registration-lock PINs: their rules (4 to 64 characters, no control characters, NFKC-normalized before hashing)
/// and their slow salted hash, PBKDF2-HMAC-SHA256 with a random 16-byte salt and
/// <see cref="RegistrationLockOptions.RegistrationLockIterations"/>. Every hash passes one gate of
/// <see cref="RegistrationLockOptions.RegistrationLockConcurrentHashes"/> with a short queue (null past it: 503
/// <c>busy</c>), so PIN checks cost at most that many cores on a silo. Holds no PIN after a call returns.
/// </summary>
internal sealed class RegistrationLockHashing : IDisposable
{
    public const int MinPinLength = 4;
    public const int MaxPinLength = 64;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    private readonly int iterations;
    private readonly ConcurrencyLimiter gate;

    public RegistrationLockHashing(IOptions<RegistrationLockOptions> options)
    {
        iterations = options.Value.RegistrationLockIterations;
        gate = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.RegistrationLockConcurrentHashes,
            QueueLimit = options.Value.RegistrationLockHashQueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>The refusal when the gate and its queue are full.</summary>
    public static readonly RateLimitRefusal Busy = new(
        StatusCodes.Status503ServiceUnavailable, "busy", Limits.PinHashing, TimeSpan.FromSeconds(1), "too many PIN checks at once on this silo");

    /// <summary>The PIN of <paramref name="field"/>, or null when absent; throws 400 naming the field when malformed.</summary>
    public static string? Validate(string? pin, string field)
    {
        if (pin is null)
        {
            return null;
        }

        if (pin.Length is < MinPinLength or > MaxPinLength || pin.Any(char.IsControl))
        {
            throw ApiException.InvalidField(field, $"must be {MinPinLength} to {MaxPinLength} characters, none of them control characters");
        }

        return pin;
    }

    /// <summary>A new lock for <paramref name="pin"/> with a fresh salt; null when the gate is full.</summary>
    public async ValueTask<RegistrationLockHash?> NewLockAsync(string pin, CancellationToken cancellationToken)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return await DeriveAsync(pin, salt, iterations, cancellationToken) is { } hash ? new RegistrationLockHash(salt, iterations, hash) : null;
    }

    /// <summary><paramref name="pin"/> derived with a stored lock's salt and iterations; null when the gate is full.</summary>
    public async ValueTask<byte[]?> DeriveAsync(string pin, byte[] salt, int iterations, CancellationToken cancellationToken)
    {
        using var lease = await gate.AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
        {
            return null;
        }

        var bytes = Encoding.UTF8.GetBytes(pin.Normalize(NormalizationForm.FormKC));
        try
        {
            return Rfc2898DeriveBytes.Pbkdf2(bytes, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    public void Dispose() => gate.Dispose();
}
