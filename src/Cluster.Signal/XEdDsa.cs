using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc7748;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Cluster.Signal;

/// <summary>XEdDSA signatures over Curve25519 keys, byte-compatible with libsignal's <c>PrivateKey.sign</c> and
/// <c>PublicKey.verify</c> (https://signal.org/docs/specifications/xeddsa/).</summary>
/// <remarks>
/// As in libsignal, the Edwards public key is not forced to a positive x: the signer puts the sign of x in the top
/// bit of the signature's last byte (always zero in an Ed25519 signature) and the verifier reads it from there.
/// </remarks>
public static class XEdDsa
{
    private const int EdwardsPointLength = 32;

    /// <summary>Verifies an XEdDSA signature made with libsignal's <c>PrivateKey.sign</c> or <see cref="Sign"/>.</summary>
    /// <param name="publicKey">The signer's serialized public key, <c>0x05 || X25519 public key</c> (33 bytes).</param>
    /// <param name="message">The signed message.</param>
    /// <param name="signature">The 64-byte signature.</param>
    /// <returns><see langword="true"/> if the signature verifies; <see langword="false"/> for a wrong signature and
    /// for any malformed key or signature. Never throws.</returns>
    /// <remarks>
    /// Accepts only signatures that libsignal also accepts, and every signature an honest libsignal signer makes.
    /// It is stricter than libsignal on inputs only a forger or the key's owner can craft: the key must be exactly
    /// 33 bytes with a canonical u-coordinate and lie in the prime-order subgroup (libsignal's
    /// <c>PublicKey::is_canonical</c>), and the scalar s must be reduced (RFC 8032). BouncyCastle verifies with the
    /// cofactored equation and libsignal with the cofactorless one; requiring both the key and R to be in the
    /// prime-order subgroup makes the two agree.
    /// </remarks>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != KeyFormat.ECPublicKeyLength
            || publicKey[0] != KeyFormat.ECPublicKeyType
            || signature.Length != KeyFormat.SignatureLength)
        {
            return false;
        }

        Span<byte> edwardsKey = stackalloc byte[EdwardsPointLength];
        var xIsNegative = (signature[^1] & 0x80) != 0;
        if (!Curve25519.TryMontgomeryToEdwards(publicKey[1..], xIsNegative, edwardsKey))
        {
            return false;
        }

        Span<byte> ed25519Signature = stackalloc byte[KeyFormat.SignatureLength];
        signature.CopyTo(ed25519Signature);
        ed25519Signature[^1] &= 0x7F;

        return Ed25519.ValidatePublicKeyFull(edwardsKey)
            && Ed25519.ValidatePublicKeyFull(ed25519Signature[..EdwardsPointLength])
            && Ed25519.Verify(ed25519Signature, edwardsKey, message);
    }

    /// <summary>Signs <paramref name="message"/> the way libsignal's <c>PrivateKey.sign</c> does.</summary>
    /// <param name="privateKey">The 32-byte Curve25519 private key; it is clamped first, as libsignal does.</param>
    /// <param name="message">The message to sign.</param>
    /// <returns>The 64-byte signature, with the sign of the Edwards public key's x in its top bit.</returns>
    /// <exception cref="ArgumentException"><paramref name="privateKey"/> is not 32 bytes.</exception>
    public static byte[] Sign(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> message)
    {
        if (privateKey.Length != KeyFormat.ECPrivateKeyLength)
        {
            throw new ArgumentException(
                $"A Curve25519 private key is {KeyFormat.ECPrivateKeyLength} bytes, got {privateKey.Length}.",
                nameof(privateKey));
        }

        // BouncyCastle's Ed25519 takes a private scalar only as an "expanded key": the scalar, then a 32-byte
        // secret that it hashes with the message into the nonce. XEdDSA's nonce is
        // hash1(a || M || Z) with 64 random bytes Z; we keep its inputs (the spec's hash1 prefix, the scalar and
        // fresh Z) by deriving that secret as hash1(a || Z). The nonce stays secret, fresh per signature, and
        // unique per message even if the random generator fails.
        Span<byte> expandedKey = stackalloc byte[64];
        Span<byte> nonceInput = stackalloc byte[32 + 32 + 64];
        try
        {
            var scalar = expandedKey[..32];
            privateKey.CopyTo(scalar);
            X25519.ClampPrivateKey(scalar);

            nonceInput[0] = 0xFE;
            nonceInput[1..32].Fill(0xFF);
            scalar.CopyTo(nonceInput[32..64]);
            RandomNumberGenerator.Fill(nonceInput[64..]);
            Span<byte> nonceSecret = stackalloc byte[SHA512.HashSizeInBytes];
            SHA512.HashData(nonceInput, nonceSecret);
            nonceSecret[..32].CopyTo(expandedKey[32..]);
            CryptographicOperations.ZeroMemory(nonceSecret);

            Span<byte> edwardsKey = stackalloc byte[EdwardsPointLength];
            Ed25519.ExpandedKey.GeneratePublicKey(expandedKey, edwardsKey);

            var signature = new byte[KeyFormat.SignatureLength];
            Ed25519.ExpandedKey.Sign(expandedKey, edwardsKey, message, signature);
            signature[^1] |= (byte)(edwardsKey[^1] & 0x80);
            return signature;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(expandedKey);
            CryptographicOperations.ZeroMemory(nonceInput);
        }
    }
}
