namespace Cluster.Signal;

/// <summary>The serialized key and signature formats of libsignal, and checks that say precisely what is wrong
/// with a client's bytes.</summary>
public static class KeyFormat
{
    /// <summary>Length of a serialized Curve25519 public key: the type byte and the 32-byte u-coordinate.</summary>
    public const int ECPublicKeyLength = 33;

    /// <summary>Type byte of a Curve25519 public key (libsignal's <c>KeyType::Djb</c>).</summary>
    public const byte ECPublicKeyType = 0x05;

    /// <summary>Length of a Curve25519 (X25519) private key.</summary>
    public const int ECPrivateKeyLength = 32;

    /// <summary>Length of a serialized KEM public key: the type byte and a 1568-byte Kyber1024 key.</summary>
    public const int KemPublicKeyLength = 1569;

    /// <summary>Type byte of a Kyber1024 public key (libsignal's <c>kem::KeyType::Kyber1024</c>).</summary>
    public const byte KemPublicKeyType = 0x08;

    /// <summary>Length of an XEdDSA signature.</summary>
    public const int SignatureLength = 64;

    /// <summary>Checks that <paramref name="key"/> is a 33-byte <c>0x05 || X25519 public key</c> whose
    /// u-coordinate is canonical (below 2^255 - 19).</summary>
    /// <param name="key">The serialized public key.</param>
    /// <returns><see langword="null"/> when the key is well formed, else what is wrong with it.</returns>
    /// <remarks>libsignal itself tolerates trailing bytes and reduces a non-canonical u-coordinate;
    /// the protocol accepts neither, and no X25519 implementation produces them.</remarks>
    public static FormatError? ValidateECPublicKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != ECPublicKeyLength)
        {
            return new FormatError(
                FormatProblem.WrongLength,
                $"must be {ECPublicKeyLength} bytes (0x05 followed by a 32-byte X25519 key), got {key.Length}");
        }

        if (key[0] != ECPublicKeyType)
        {
            return new FormatError(
                FormatProblem.WrongType,
                $"must start with the Curve25519 key type 0x05, got 0x{key[0]:x2}");
        }

        if (!Curve25519.IsCanonical(key[1..]))
        {
            return new FormatError(
                FormatProblem.NonCanonical,
                "is not a canonical X25519 public key (its u-coordinate is not reduced modulo 2^255 - 19)");
        }

        return null;
    }

    /// <summary>Checks that <paramref name="key"/> is a 1569-byte <c>0x08 || Kyber1024 public key</c>.</summary>
    /// <param name="key">The serialized KEM public key.</param>
    /// <returns><see langword="null"/> when the key is well formed, else what is wrong with it.</returns>
    public static FormatError? ValidateKemPublicKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KemPublicKeyLength)
        {
            return new FormatError(
                FormatProblem.WrongLength,
                $"must be {KemPublicKeyLength} bytes (0x08 followed by a 1568-byte Kyber1024 key), got {key.Length}");
        }

        if (key[0] != KemPublicKeyType)
        {
            return new FormatError(
                FormatProblem.WrongType,
                $"must start with the Kyber1024 key type 0x08, got 0x{key[0]:x2}");
        }

        return null;
    }

    /// <summary>Checks that <paramref name="signature"/> has the length of an XEdDSA signature.</summary>
    /// <param name="signature">The signature bytes.</param>
    /// <returns><see langword="null"/> when the length is right, else what is wrong.</returns>
    public static FormatError? ValidateSignature(ReadOnlySpan<byte> signature) =>
        signature.Length == SignatureLength
            ? null
            : new FormatError(FormatProblem.WrongLength, $"must be {SignatureLength} bytes, got {signature.Length}");
}
