namespace Cluster.Signal;

/// <summary>The kinds of malformed input that <see cref="KeyFormat"/>, <see cref="LinkingMetadata"/> and
/// <see cref="KeyIndexList"/> report.</summary>
public enum FormatProblem
{
    /// <summary>A key or signature has the wrong number of bytes.</summary>
    WrongLength = 1,

    /// <summary>A key's leading type byte is not the one its format requires.</summary>
    WrongType,

    /// <summary>A Curve25519 public key encodes a u-coordinate that is not reduced modulo 2^255 - 19
    /// (including one with the top bit set). X25519 never produces such a key.</summary>
    NonCanonical,

    /// <summary>A structure's leading version byte is not a supported version.</summary>
    UnsupportedVersion,

    /// <summary>A structure ends before all its fields are read.</summary>
    Truncated,

    /// <summary>A structure has bytes left over after its last field.</summary>
    TrailingBytes,

    /// <summary>A string field is not valid UTF-8.</summary>
    InvalidUtf8,

    /// <summary>A numeric field is outside the range this implementation accepts.</summary>
    OutOfRange,

    /// <summary>The valid indexes of a key index list are not strictly ascending.</summary>
    NotAscending,
}

/// <summary>What is wrong with a key, a signature or a signed structure, in a form an HTTP layer can answer with:
/// <see cref="Problem"/> to branch on and <see cref="Message"/> to show, prefixed with the field name.</summary>
/// <param name="Problem">The kind of problem.</param>
/// <param name="Message">A human-readable description that does not name the field, e.g.
/// "must be 33 bytes (0x05 followed by a 32-byte X25519 key), got 32".</param>
public sealed record FormatError(FormatProblem Problem, string Message);
