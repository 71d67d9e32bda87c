using System.Numerics;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Cluster.Signal;

/// <summary>The one step XEdDSA needs beyond BouncyCastle's Ed25519: the birational map from a Montgomery
/// u-coordinate to an Edwards y-coordinate, computed with BouncyCastle's field arithmetic.</summary>
internal static class Curve25519
{
    private static readonly BigInteger P = (BigInteger.One << 255) - 19;

    public static bool IsCanonical(ReadOnlySpan<byte> u) => new BigInteger(u, isUnsigned: true) < P;

    /// <summary>Writes the compressed Edwards point with y = (u - 1) / (u + 1) and the given sign of x.
    /// Fails for a non-canonical u and for u = -1, which has no Edwards image (it is not on the curve).</summary>
    public static bool TryMontgomeryToEdwards(ReadOnlySpan<byte> u, bool xIsNegative, Span<byte> edwardsPoint)
    {
        var montgomeryU = new BigInteger(u, isUnsigned: true);
        if (montgomeryU >= P || montgomeryU == P - 1)
        {
            return false;
        }

        var x = X25519Field.Create();
        var one = X25519Field.Create();
        var uPlusOne = X25519Field.Create();
        var uMinusOne = X25519Field.Create();
        X25519Field.Decode255(u, x);
        X25519Field.One(one);
        X25519Field.Apm(x, one, uPlusOne, uMinusOne);
        X25519Field.InvVar(uPlusOne, uPlusOne);
        X25519Field.Mul(uMinusOne, uPlusOne, x);
        X25519Field.Normalize(x);
        X25519Field.Encode(x, edwardsPoint);
        if (xIsNegative)
        {
            edwardsPoint[31] |= 0x80;
        }

        return true;
    }
}
