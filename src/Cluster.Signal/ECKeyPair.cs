using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Cluster.Signal;

/// <summary>A Curve25519 key pair in libsignal's formats: an identity key, a signed prekey or a one-time prekey.</summary>
public sealed class ECKeyPair
{
    private readonly byte[] privateKey;
    private readonly byte[] publicKey;

    private ECKeyPair(byte[] privateKey, byte[] publicKey)
    {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
    }

    /// <summary>The serialized public key, <c>0x05 || X25519 public key</c> (33 bytes).</summary>
    public ReadOnlyMemory<byte> PublicKey => publicKey;

    /// <summary>The clamped 32-byte private key, as libsignal's <c>PrivateKey.serialize</c> returns it.</summary>
    public ReadOnlyMemory<byte> PrivateKey => privateKey;

    /// <summary>Generates a key pair from the operating system's secure random generator.</summary>
    /// <returns>A new key pair.</returns>
    public static ECKeyPair Generate()
    {
        Span<byte> privateKey = stackalloc byte[KeyFormat.ECPrivateKeyLength];
        RandomNumberGenerator.Fill(privateKey);
        var keyPair = FromPrivateKey(privateKey);
        CryptographicOperations.ZeroMemory(privateKey);
        return keyPair;
    }

    /// <summary>Rebuilds a key pair from a private key, clamping it as libsignal's <c>PrivateKey.deserialize</c> does.</summary>
    /// <param name="privateKey">The 32-byte private key.</param>
    /// <returns>The key pair.</returns>
    /// <exception cref="ArgumentException"><paramref name="privateKey"/> is not 32 bytes.</exception>
    public static ECKeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeyFormat.ECPrivateKeyLength)
        {
            throw new ArgumentException(
                $"A Curve25519 private key is {KeyFormat.ECPrivateKeyLength} bytes, got {privateKey.Length}.",
                nameof(privateKey));
        }

        var clamped = privateKey.ToArray();
        X25519.ClampPrivateKey(clamped);
        var publicKey = new byte[KeyFormat.ECPublicKeyLength];
        publicKey[0] = KeyFormat.ECPublicKeyType;
        X25519.GeneratePublicKey(clamped, publicKey.AsSpan(1));
        return new ECKeyPair(clamped, publicKey);
    }

    /// <summary>Signs <paramref name="message"/> with XEdDSA, as libsignal's <c>PrivateKey.sign</c> does.</summary>
    /// <param name="message">The message to sign.</param>
    /// <returns>The 64-byte signature.</returns>
    public byte[] Sign(ReadOnlySpan<byte> message) => XEdDsa.Sign(privateKey, message);
}
